// The architecture rules `npm run lint` enforces (dependency-cruiser; eslint
// checks code style only). Each rule says why in its comment; a violation
// names the rule and the import. Run alone: `npx depcruise apps libs test`.

/** Specs, test support and test helpers: the only code that may use a `/testing` entry. */
const TEST_CODE = [
  '\\.spec\\.ts$',
  '^test/',
  '\\.testing\\.ts$',
  '/testing/',
  '^libs/[^/]+/src/testing\\.ts$',
];

/** A library's testing entry and what sits behind it. */
const TESTING_FILES = ['^libs/[^/]+/src/testing\\.ts$', '^libs/[^/]+/src/testing/', '\\.testing\\.ts$'];

/** Packages only the control plane's server side may load. */
const SERVER_PACKAGES = 'node_modules/(better-sqlite3|@eventstore/db-client|@nestjs/[^/]+)/';

/**
 * Folder rules inside apps/control-plane/src: the allowed dependencies between
 * its folders, as a DAG. Add one entry per folder that must not import another,
 * e.g.
 *   { name: 'cp-core-is-a-leaf', severity: 'error',
 *     from: { path: '^apps/control-plane/src/core/' },
 *     to: { path: '^apps/control-plane/src/', pathNot: '^apps/control-plane/src/core/' } }
 * Folder-level cycles are already refused by `no-circular` below (module level).
 */
const CONTROL_PLANE_FOLDER_RULES = [];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No module-level import cycles anywhere (they make start-up order and layering accidental).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'libs-not-to-apps',
      comment: 'Libraries never import an app.',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'events-not-to-event-store',
      comment:
        '@rf/events is the catalog and the wire protocol; @rf/event-store depends on it, never the other way.',
      severity: 'error',
      from: { path: '^libs/events/' },
      to: { path: '^libs/event-store/' },
    },
    {
      name: 'events-no-server-packages',
      comment: '@rf/events loads no native module and nothing Nest (the agent uses it), not even indirectly.',
      severity: 'error',
      from: { path: '^libs/events/', pathNot: TEST_CODE },
      to: { path: SERVER_PACKAGES, reachable: true },
    },
    {
      name: 'alerts-no-server-packages',
      comment:
        '@rf/alerts (rules, channels, delivery) reaches the log only through ports: no store, no SQLite, no Nest.',
      severity: 'error',
      from: { path: '^libs/alerts/', pathNot: TEST_CODE },
      to: { path: [SERVER_PACKAGES, '^libs/event-store/', '^libs/projections/'], reachable: true },
    },
    {
      name: 'agent-not-to-control-plane',
      comment: 'The agent shares only @rf/events and @rf/restic with the control plane.',
      severity: 'error',
      from: { path: '^apps/agent/' },
      to: { path: ['^apps/control-plane/', '^libs/projections/', '^libs/event-store/'] },
    },
    {
      name: 'agent-no-server-packages',
      comment:
        'The agent process loads no SQLite driver, no EventStoreDB client and no Nest, not even indirectly.',
      severity: 'error',
      from: { path: '^apps/agent/', pathNot: TEST_CODE },
      to: { path: SERVER_PACKAGES, reachable: true },
    },
    {
      name: 'no-deep-lib-import',
      comment:
        'Another package imports a library only through its root (@rf/<lib>) or its test entry (@rf/<lib>/testing).',
      severity: 'error',
      from: { path: '^([^/]+/[^/]+)/' },
      to: {
        path: '^libs/[^/]+/src/',
        pathNot: ['^$1/', '^libs/[^/]+/src/index\\.ts$', '^libs/[^/]+/src/testing(\\.ts|/index\\.ts)$'],
      },
    },
    {
      name: 'testing-only-from-tests',
      comment: 'Test helpers (@rf/<lib>/testing, *.testing.ts, testing/) are for specs and test/ only.',
      severity: 'error',
      from: { pathNot: TEST_CODE },
      to: { path: TESTING_FILES },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves (a deep @rf/<lib>/<path> does not: only tsconfig paths entries exist).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    ...CONTROL_PLANE_FOLDER_RULES,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/', '^\\.cache/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'default', 'types'],
      mainFields: ['main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
