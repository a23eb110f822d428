// The API's OpenAPI 3.1 description, served at /api/openapi.json. Kept beside the routes (app.ts) and
// checked against them by the HTTP tests: every route is described, every description has a route.

import { open, requires } from './access.js';
import { ADMIN_PATHS } from './admin-routes.js';
import { CHAT_PATHS } from './chat-routes.js';
import { errors, json, problemOf } from './openapi-parts.js';
import { SCHEDULE_PATHS } from './schedule-routes.js';

export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'Stepgate API', version: '0.1.0', description: 'Workflows, runs, approvals.' },
  servers: [{ url: '/' }],
  security: [{ session: [] }, { token: [] }],
  components: {
    securitySchemes: {
      session: { type: 'apiKey', in: 'cookie', name: 'stepgate_session' },
      token: { type: 'http', scheme: 'bearer' },
    },
    schemas: {
      Problem: {
        type: 'object',
        description: 'RFC 9457 problem details',
        required: ['type', 'title', 'status', 'detail'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          field: { type: 'string', description: 'the field at fault, when one is' },
        },
      },
    },
  },
  paths: {
    ...SCHEDULE_PATHS,
    ...CHAT_PATHS,
    ...ADMIN_PATHS,
    '/api/health': { get: { ...open(), summary: 'Liveness', responses: { '200': json('ok') } } },
    '/api/openapi.json': {
      get: { ...open(), summary: 'This document', responses: { '200': json('OpenAPI') } },
    },
    '/api/login': {
      post: {
        ...open('login'),
        summary: 'Log in with email and password: sets the session cookie, returns the CSRF token',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['email', 'password'],
                properties: { email: { type: 'string' }, password: { type: 'string' } },
              },
            },
          },
        },
        responses: {
          '200': json('user, csrf'),
          '401': json('wrong email or password'),
          '422': json('missing field'),
        },
      },
    },
    '/api/logout': {
      post: {
        ...requires('viewer', 'account', 'login'),
        summary: 'End the session',
        responses: { '204': { description: 'logged out' } },
      },
    },
    '/api/me': {
      get: {
        ...requires('viewer', []),
        summary: 'The caller',
        responses: { '200': json('identity'), ...errors },
      },
    },
    '/api/workflows': {
      get: {
        ...requires('viewer', 'workflows:read'),
        summary: 'Workflows (latest versions)',
        responses: { '200': json('list'), ...errors },
      },
    },
    '/api/workflows/validate': {
      post: {
        ...requires('lead', 'workflows:write', 'definition'),
        summary: 'Check a definition without saving it (lead and above): { valid, id?, diagnostics }',
        requestBody: {
          required: true,
          content: {
            'application/yaml': { schema: { type: 'string' } },
            'application/json': { schema: { type: 'object' } },
          },
        },
        responses: { '200': json('the diagnostics'), ...errors },
      },
    },
    '/api/workflows/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        ...requires('viewer', 'workflows:read'),
        summary: 'A workflow with its source',
        responses: { '200': json('workflow'), '404': json('none'), ...errors },
      },
      put: {
        ...requires('lead', 'workflows:write', 'definition'),
        summary: 'Create or update from YAML or JSON (lead and above)',
        requestBody: {
          required: true,
          content: {
            'application/yaml': { schema: { type: 'string' } },
            'application/json': { schema: { type: 'object' } },
          },
        },
        responses: { '200': json('updated'), '201': json('created'), '422': json('diagnostics'), ...errors },
      },
      delete: {
        ...requires('manager', 'workflows:write'),
        summary: 'Delete (manager and above); versions are kept',
        responses: { '204': { description: 'deleted' }, ...errors },
      },
    },
    '/api/workflows/{id}/versions': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        ...requires('viewer', 'workflows:read'),
        summary: 'Every saved version',
        responses: { '200': json('versions'), ...errors },
      },
    },
    '/api/workflows/{id}/versions/{version}': {
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'version', in: 'path', required: true, schema: { type: 'integer' } },
      ],
      get: {
        ...requires('viewer', 'workflows:read'),
        summary: 'One version with its source (the one a run ran)',
        responses: { '200': json('workflow'), '404': json('none'), ...errors },
      },
    },
    '/api/workflows/{id}/run': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      post: {
        ...requires('viewer', ['runs:start', 'webhook:{id}'], 'webhook'),
        summary: "Start a run (manual trigger; the trigger's minRole)",
        requestBody: {
          content: {
            'application/json': { schema: { type: 'object', properties: { input: { type: 'object' } } } },
          },
        },
        responses: {
          '201': json('runId'),
          '409': json('no manual trigger'),
          '422': json('invalid input'),
          ...errors,
        },
      },
    },
    '/api/runs': {
      get: {
        ...requires('member', 'runs:read'),
        summary:
          'Runs, newest first (member and above; members see their own): id, workflowId, status, trigger { kind, user }, createdAt, endedAt, durationMs',
        parameters: [
          {
            name: 'status',
            in: 'query',
            schema: { enum: ['running', 'completed', 'failed', 'cancelled', 'timed_out'] },
          },
          { name: 'workflowId', in: 'query', schema: { type: 'string' } },
          {
            name: 'triggeredBy',
            in: 'query',
            description: 'the email of the user the run was started by (or acts for)',
            schema: { type: 'string', format: 'email' },
          },
          {
            name: 'from',
            in: 'query',
            description: 'created at or after (ms since the epoch)',
            schema: { type: 'integer', minimum: 0 },
          },
          {
            name: 'to',
            in: 'query',
            description: 'created before (ms since the epoch)',
            schema: { type: 'integer', minimum: 0 },
          },
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
          },
        ],
        responses: { '200': json('runs'), '400': problemOf('A bad filter (the field is named)'), ...errors },
      },
    },
    '/api/runs/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        ...requires('viewer', 'runs:read'),
        summary:
          'The run view: trigger, input, output, error, every step (state, visits, attempts with policy decisions and credential levels, approval requests and decisions) and the history; secrets redacted',
        responses: { '200': json('run view'), '404': json('none'), ...errors },
      },
    },
    '/api/runs/{id}/events': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        ...requires('viewer', 'runs:read'),
        summary:
          'Server-Sent Events: `run` with the run view at once and whenever the run changes, a comment heartbeat every 15 s; ends after the view of the ended run',
        responses: {
          '200': { description: 'an event stream', content: { 'text/event-stream': {} } },
          '404': json('none'),
          ...errors,
        },
      },
    },
    '/api/runs/{id}/audit': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        ...requires('viewer', 'runs:read'),
        summary: 'The audit trail as JSON Lines (secrets redacted)',
        responses: {
          '200': { description: 'one entry per line', content: { 'application/x-ndjson': {} } },
          ...errors,
        },
      },
    },
    '/api/runs/{id}/cancel': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      post: {
        ...requires('viewer', 'runs:cancel'),
        summary: 'Cancel (who started it, or manager and above)',
        responses: { '202': json('cancelled'), '409': json('not running'), ...errors },
      },
    },
    '/api/inbox': {
      get: {
        ...requires('viewer', 'inbox:read'),
        summary: "The development mail inbox (npm start): the caller's mail; admins: all, or ?to=",
        responses: { '200': json('messages'), ...errors },
      },
    },
    '/api/approvals': {
      get: {
        ...requires('viewer', 'approvals:read'),
        summary: "The caller's pending approvals",
        responses: { '200': json('approvals'), ...errors },
      },
    },
    '/api/approvals/{runId}/{stepId}': {
      parameters: [
        { name: 'runId', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'stepId', in: 'path', required: true, schema: { type: 'string' } },
      ],
      post: {
        ...requires('viewer', 'approvals:decide'),
        summary: 'Decide an approval',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['decision'],
                properties: { decision: { enum: ['approve', 'reject'] }, comment: { type: 'string' } },
              },
            },
          },
        },
        responses: { '200': json('accepted'), '409': json('refused'), '422': json('invalid'), ...errors },
      },
    },
  },
} as const;
