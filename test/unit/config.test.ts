// stepgate.config.yaml: the MCP servers and the policy, problems at file:line:col, nothing half-applied.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../adapters/local/config.js';
import { DEFAULT_LIMITS } from '../../functions/core/limits.js';

describe('the Stepgate config', () => {
  it('reads servers and policy, anchoring a stdio server at the config file', () => {
    const config = parseConfig(
      'mcpServers:\n  pay: { command: node, args: [dist/pay.js] }\n  web: { url: "https://mcp.example.com/mcp" }\npolicy:\n  tools: { pay-charge: { minRole: manager, rateLimit: 5/minute } }\n',
      '/srv/stepgate/stepgate.config.yaml',
    );
    expect(config.file).toBe('/srv/stepgate/stepgate.config.yaml');
    expect(config.mcpServers.pay).toMatchObject({
      command: 'node',
      args: ['dist/pay.js'],
      cwd: '/srv/stepgate',
    });
    expect(config.mcpServers.web).toMatchObject({ url: 'https://mcp.example.com/mcp' });
    expect(config.policy.tools?.['pay-charge']).toEqual({ minRole: 'manager', rateLimit: '5/minute' });
  });

  it('refuses the whole file for one problem, naming its line and column', () => {
    const text =
      'mcpServers:\n  pay: { command: node }\npolicy:\n  tools: { pay-charge: { rateLimit: 5 per minute } }\n';
    expect(() => parseConfig(text, '/c/stepgate.config.yaml')).toThrow(ConfigError);
    try {
      parseConfig(text, '/c/stepgate.config.yaml');
    } catch (error) {
      expect((error as ConfigError).problems[0]).toMatch(
        /^\/c\/stepgate\.config\.yaml:4:\d+: error: .*rate/i,
      );
    }
    expect(() => parseConfig('mcpServers: [', '/c/x.yaml')).toThrow(/x\.yaml:1:\d+: error/);
  });

  it('reads the oidc and approvals sections, refusing an http issuer elsewhere than localhost and unknown keys', () => {
    const config = parseConfig(
      'oidc:\n  issuer: https://login.example.com\n  audience: stepgate\napprovals:\n  requireLogin: true\n',
      '/c/stepgate.config.yaml',
    );
    expect(config.oidc).toMatchObject({
      issuer: 'https://login.example.com',
      audience: 'stepgate',
      emailClaim: 'email',
    });
    expect(config.approvals).toEqual({ requireLogin: true });
    expect(() =>
      parseConfig('oidc:\n  issuer: http://login.example.com\n  audience: x\n', '/c/stepgate.config.yaml'),
    ).toThrow(/stepgate\.config\.yaml:2:\d+: error: .*https/);
    expect(() => parseConfig('approvals:\n  requireLogn: true\n', '/c/stepgate.config.yaml')).toThrow(
      /stepgate\.config\.yaml:2:\d+: error: .*requireLogn/,
    );
  });

  it('fills every limit the limits: section leaves out with its default', () => {
    const config = parseConfig(
      'limits:\n  jsonDepth: 32\n  login: { perAddress: { max: 5 } }\n',
      '/c/stepgate.config.yaml',
    );
    expect(config.limits).toEqual({
      ...DEFAULT_LIMITS,
      jsonDepth: 32,
      login: { ...DEFAULT_LIMITS.login, perAddress: { max: 5, windowSeconds: 900 } },
    });
    expect(parseConfig('policy: {}\n', '/c/stepgate.config.yaml').limits).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toMatchObject({
      bodyBytes: { default: 131_072, login: 8_192, definition: 1_000_000, webhook: 262_144 },
      jsonDepth: 64,
      login: { perAccountAddress: { max: 10, windowSeconds: 900 }, concurrentHashes: 2 },
      runStarts: { max: 60, windowSeconds: 60 },
      chat: { max: 60, windowSeconds: 60 },
    });
  });

  it('refuses a limit that is not a positive whole number, naming its line', () => {
    expect(() => parseConfig('limits:\n  runStarts:\n    max: 0\n', '/c/stepgate.config.yaml')).toThrow(
      /stepgate\.config\.yaml:3:\d+: error: .*max/,
    );
    expect(() => parseConfig('limits:\n  chat: { maxx: 5 }\n', '/c/stepgate.config.yaml')).toThrow(
      /stepgate\.config\.yaml:2:\d+: error: .*maxx/,
    );
  });

  it('is empty when the default file is absent, and an error when a named file is', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-config-'));
    expect(loadConfig(undefined, dir)).toEqual({
      file: null,
      mcpServers: {},
      policy: {},
      directory: { users: [] },
      approvals: {},
      notifications: {},
      limits: DEFAULT_LIMITS,
    });
    expect(() => loadConfig('missing.yaml', dir)).toThrow(
      /missing\.yaml:1:1: error: cannot read the Stepgate config/,
    );
    writeFileSync(join(dir, 'stepgate.config.yaml'), 'policy: { defaults: { minRole: lead } }\n');
    expect(loadConfig(undefined, dir).policy).toEqual({ defaults: { minRole: 'lead' } });
  });

  it('accepts the repository default config (the sandbox servers)', () => {
    const config = loadConfig(join(import.meta.dirname, '..', '..', 'stepgate.config.yaml'));
    expect(Object.keys(config.mcpServers).sort()).toEqual([
      'calendar',
      'directory',
      'email',
      'expenses',
      'incidents',
      'payments',
      'travel',
    ]);
  });
});
