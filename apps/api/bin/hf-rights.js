#!/usr/bin/env node
// The installed command: a file that exists before the build (pnpm links bins at install time), running the built CLI.
import '../dist/cli/rights.js';
