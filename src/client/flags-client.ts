/** The flag endpoints of the controller's API (src/api/flag-routes.ts), typed, over the CLI's client. */
import type { ControllerClient } from './client.js';
import type { FlagChange, FlagView } from '../flags/service.js';
import type { FlagRamp, FlagVersion } from '../store/flag-types.js';
import type { FlagRampRequest } from '../api/flag-routes.js';

export interface FlagsListResponse {
  environment: string;
  flags: FlagView[];
}
export interface FlagChangeResponse {
  flag: FlagView;
  /** null: the change changed nothing (no version recorded). */
  version: FlagVersion | null;
}
export interface FlagHistoryResponse {
  environment: string;
  flag: string;
  versions: FlagVersion[];
}

export interface FlagRampResponse {
  ramp: FlagRamp;
  /** The flag after the steps due now. */
  flag: FlagView;
}

const enc = encodeURIComponent;

export const flagsApi = {
  list: (c: ControllerClient) => c.call<FlagsListResponse>('GET', '/v1/flags'),
  get: (c: ControllerClient, key: string) => c.call<FlagView>('GET', `/v1/flags/${enc(key)}`),
  set: (c: ControllerClient, key: string, change: FlagChange) => c.call<FlagChangeResponse>('POST', `/v1/flags/${enc(key)}`, change),
  history: (c: ControllerClient, key: string, limit = 50) =>
    c.call<FlagHistoryResponse>('GET', `/v1/flags/${enc(key)}/history?limit=${limit}`),
  revert: (c: ControllerClient, key: string, req: { version: number; by: string; reason: string }) =>
    c.call<FlagChangeResponse>('POST', `/v1/flags/${enc(key)}/revert`, req),
  ramp: (c: ControllerClient, key: string, req: FlagRampRequest) => c.call<FlagRampResponse>('POST', `/v1/flags/${enc(key)}/ramp`, req),
  exportYaml: (c: ControllerClient) => c.call<{ environment: string; yaml: string }>('GET', '/v1/flags-export'),
};
