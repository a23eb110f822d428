import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // Emulators shared by the test files of a run (the Firestore emulator starts once, not once per file).
    globalSetup: ['test/support/global-setup.ts'],
    // Both cores: by default vitest leaves one core to the rest of the machine, which here runs the files
    // one at a time (measured on a fresh clone in one session: 747 s with one worker, 493 s with two).
    maxWorkers: 2,
  },
});
