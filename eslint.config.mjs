// Flat config. The one project-specific rule: libraries are imported only
// through their root entry (`@rf/events`), never by a deep path.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const deepLibImports = {
  patterns: [
    {
      group: ['**/libs/*/src', '**/libs/*/src/**'],
      message: 'Import a library through its root entry (@rf/<name>), not by path.',
    },
    {
      group: ['@rf/*/*', '!@rf/*/testing'],
      message:
        'Import a library through its root entry (@rf/<name>) only; keep its public surface in index.ts.',
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      '.cache/**',
      'test-artifacts/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', deepLibImports],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // Inside a library, its own files use relative imports; only other libs are restricted.
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...deepLibImports.patterns,
            { group: ['**/apps/**'], message: 'Libraries never import apps.' },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/agent/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...deepLibImports.patterns,
            {
              group: ['**/control-plane/**', '@rf/projections', '@rf/event-store'],
              message: 'The agent shares only @rf/events and @rf/restic with the control plane.',
            },
          ],
        },
      ],
    },
  },
);
