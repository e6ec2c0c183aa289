import createFetchClient from 'openapi-fetch';
import createQueryHooks from 'openapi-react-query';
import type { components, paths } from './openapi.gen';

export type Schemas = components['schemas'];
export type Run = Schemas['Run'];
export type RunDetail = Schemas['RunDetail'];
export type RunState = Schemas['RunState'];
export type TaskRun = Schemas['TaskRun'];
export type TaskState = Schemas['TaskState'];
export type Attempt = Schemas['Attempt'];
export type AttemptState = Schemas['AttemptState'];
export type Job = Schemas['Job'];
export type JobSummary = Schemas['JobSummary'];
export type JobApplied = Schemas['JobApplied'];
export type JobVersions = Schemas['JobVersions'];
export type JobGrid = Schemas['JobGrid'];
export type Backfill = Schemas['Backfill'];
export type BackfillPlan = Schemas['BackfillPlan'];
export type RunSla = Schemas['RunSla'];
export type SlaState = Schemas['SlaState'];
export type SlaBacktest = Schemas['SlaBacktest'];
export type Agent = Schemas['Agent'];
export type Role = Schemas['Role'];
export type SessionView = Schemas['SessionView'];
export type SessionList = Schemas['SessionList'];
export type Member = Schemas['Member'];
export type Invitation = Schemas['Invitation'];
export type InvitationPreview = Schemas['InvitationPreview'];
export type ApiKey = Schemas['ApiKey'];
export type ApiKeyIssued = Schemas['ApiKeyIssued'];
export type AgentToken = Schemas['AgentToken'];
export type Tenant = Schemas['Tenant'];
export type TenantState = Schemas['TenantState'];
export type QuotaView = Schemas['QuotaView'];
export type QuotaLine = Schemas['QuotaLine'];
export type UsageDay = Schemas['UsageDay'];

/** The platform's problem+json error body. */
export interface Problem {
  title?: string;
  status?: number;
  code?: string;
  detail?: string;
  errors?: Array<{ path?: string; message?: string }>;
}

/**
 * The typed REST client: paths, parameters and bodies come from the generated
 * OpenAPI types, so a route or field the API does not have does not compile.
 * The portal is served from the API's origin, so requests are relative.
 * Credentials are added by the sign-in layer (auth/session.tsx) as middleware.
 */
export const client = createFetchClient<paths>({ baseUrl: '' });

/** React Query hooks over the same client: `api.useQuery('get', '/api/v1/runs/{id}', {...})`. */
export const api = createQueryHooks(client);
