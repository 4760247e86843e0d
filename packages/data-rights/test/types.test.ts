// The public types, as a user imports them: the plugin's options and its decoration. `tsc --noEmit`
// checks the assertions (the package's tsconfig includes test/); vitest runs the file too.
import type { FastifyInstance } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import dataRights, {
  DATA_RIGHTS_ERROR_CODES,
  harakaflowDataRights,
  type DataRights,
  type DataRightsErrorCode,
  type DataRightsOptions,
  type FileInput,
  type IncomingMessage,
  type IntakeOutcome,
  type RightsRequest,
} from '@harakaflow/data-rights';

describe('types', () => {
  it('the options: required, optional and a wrong type rejected', () => {
    expectTypeOf<DataRightsOptions['db']>().not.toBeUndefined();
    expectTypeOf<DataRightsOptions['keyStore']>().not.toBeUndefined();
    expectTypeOf<DataRightsOptions['accountExists']>().toEqualTypeOf<(accountId: string) => Promise<boolean>>();
    expectTypeOf<string>().toMatchTypeOf<DataRightsOptions['signingKeys']>();
    expectTypeOf<DataRightsOptions['dueDays']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<DataRightsOptions['retainDays']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Pick<DataRightsOptions, 'dueDays'>>().toEqualTypeOf<{ dueDays?: number | undefined }>();
    // @ts-expect-error dueDays is a number of days
    const wrong: Pick<DataRightsOptions, 'dueDays'> = { dueDays: '30' };
    expectTypeOf(wrong).toEqualTypeOf<Pick<DataRightsOptions, 'dueDays'>>();
    expectTypeOf(harakaflowDataRights).toEqualTypeOf(dataRights);
  });

  it('the decoration: fastify.dataRights and its intake', () => {
    expectTypeOf<FastifyInstance['dataRights']>().toEqualTypeOf<DataRights>();
    expectTypeOf<FastifyInstance['dataRights']['file']>().toEqualTypeOf<(input: FileInput) => Promise<RightsRequest>>();
    expectTypeOf<FastifyInstance['dataRights']['get']>().toEqualTypeOf<
      (id: string, accountId?: string) => Promise<RightsRequest>
    >();
    expectTypeOf<FastifyInstance['dataRights']['runDueErasures']>().toEqualTypeOf<
      (requestId?: string) => Promise<number>
    >();
    expectTypeOf<FastifyInstance['dataRights']['intake']['receive']>().toEqualTypeOf<
      (m: IncomingMessage, mayAnswer: (address: string) => Promise<string | null>) => Promise<IntakeOutcome>
    >();
  });

  it('the error codes', () => {
    expectTypeOf(DATA_RIGHTS_ERROR_CODES[0]).toMatchTypeOf<DataRightsErrorCode>();
    expectTypeOf<'HF_DATA_RIGHTS_NOT_FOUND'>().toMatchTypeOf<DataRightsErrorCode>();
    expectTypeOf<'HF_DATA_RIGHTS_NOPE'>().not.toMatchTypeOf<DataRightsErrorCode>();
  });
});
