// The service accounts the templates' webhooks run as (`runAs`, as in stepgate.config.yaml), for tests that
// publish the templates on a directory of their own: publishing needs each runAs to be a user there.
import type { Identity } from '../../functions/core/protocol.js';

/** ops-bot, monitoring-bot and hr-system: members of `groups`, so a lead in those groups may publish them. */
export function serviceAccounts(groups: string[] = ['staff']): Identity[] {
  return ['ops-bot', 'monitoring-bot', 'hr-system'].map((name) => ({
    email: `${name}@example.com`,
    role: 'member',
    groups,
    manager: null,
    service: true,
  }));
}
