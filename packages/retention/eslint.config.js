export { default } from '@harakaflow/eslint-config';
