// The dashboard is served and renders without console errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support.js';

describe('the dashboard', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is served at / and renders without console errors', async () => {
    const user = await stack.login('emma@example.com');
    await user.page.goto('/');
    await user.page.getByRole('heading', { name: 'Workflows', level: 1 }).waitFor();
    expect(user.errors).toEqual([]);
  });
});
