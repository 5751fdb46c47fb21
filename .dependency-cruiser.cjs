// The architecture rules `npm run lint` enforces (dependency-cruiser; eslint
// checks code style only). Each rule says why in its comment; a violation
// names the rule, the import and that comment. Run alone:
// `npx depcruise --config .dependency-cruiser.cjs --output-type err-long apps libs test`.
// The parts and arrows these rules hold are described in docs/architecture.md.

/** Specs, test support and test helpers: the only code that may use a `/testing` entry. */
const TEST_CODE = [
  '\\.spec\\.ts$',
  '^test/',
  '\\.testing\\.ts$',
  '\\.test-harness\\.ts$',
  '/testing/',
  '^libs/[^/]+/src/testing\\.ts$',
];

/** A library's testing entry and what sits behind it. */
const TESTING_FILES = [
  '^libs/[^/]+/src/testing\\.ts$',
  '^libs/[^/]+/src/testing/',
  '\\.testing\\.ts$',
  '\\.test-harness\\.ts$',
];

/** Packages only the control plane's server side may load. */
const SERVER_PACKAGES = 'node_modules/(better-sqlite3|@eventstore/db-client|@nestjs/[^/]+)/';

/** Code that only tests run: specs and the harnesses they share. Folder rules leave it out (nothing imports a spec). */
const CP_TEST_CODE = ['\\.spec\\.ts$', '\\.test-harness\\.ts$'];

/**
 * The folders of apps/control-plane/src, lowest first (docs/architecture.md,
 * "Control plane layout"). A folder may import its own files and those of
 * folders in lower rows, never a folder in its own row or above: so the
 * folders form a DAG and a folder-level cycle cannot be written. The root
 * files (main.ts, cli.ts, app.module.ts) compose everything and are imported
 * by nothing below them.
 */
const CP = 'apps/control-plane/src';
const CP_LAYERS = [
  ['core'],
  ['domain'],
  ['dtos', 'repositories'],
  ['services'],
  ['ingest', 'middleware'],
  ['gateways'],
  ['controllers', 'ui', 'cli'],
];

/** Node built-ins and packages that do I/O; only repositories, gateways, core (config, logging) and the edges use them. */
const IO_MODULES = [
  '^(node:)?(fs|fs/promises|child_process|net|tls|http|https|http2|dgram)$',
  'node_modules/(better-sqlite3|ws|argon2|execa)/',
];

const CONTROL_PLANE_FOLDER_RULES = [
  ...CP_LAYERS.flatMap((row, rank) => {
    const lower = CP_LAYERS.slice(0, rank).flat();
    return row.map((folder) => ({
      name: `cp-${folder}-imports-only-lower-folders`,
      comment: `${CP}/${folder}/ may import ${lower.length ? lower.join(', ') : 'no other folder'} (one-way folder DAG).`,
      severity: 'error',
      from: { path: `^${CP}/${folder}/`, pathNot: CP_TEST_CODE },
      to: { path: `^${CP}/`, pathNot: [`^${CP}/(${[folder, ...lower].join('|')})/`] },
    }));
  }),
  {
    name: 'cp-root-files-are-the-top',
    comment: 'main.ts, cli.ts and app.module.ts compose the app; no folder imports them.',
    severity: 'error',
    from: { path: `^${CP}/[^/]+/`, pathNot: CP_TEST_CODE },
    to: { path: `^${CP}/[^/]+\\.ts$` },
  },
  {
    name: 'cp-domain-is-pure',
    comment: 'domain/ holds folds over events: no Nest, no RxJS, no I/O (time and ids come from the events).',
    severity: 'error',
    from: { path: `^${CP}/domain/`, pathNot: CP_TEST_CODE },
    to: { path: ['node_modules/(@nestjs/[^/]+|rxjs)/', ...IO_MODULES] },
  },
  {
    name: 'cp-io-behind-repositories',
    comment:
      'Services, ingest, DTOs, middleware and controllers (REST and UI) do no I/O of their own: files, SQLite, sockets and child processes sit in repositories/ or gateways/.',
    severity: 'error',
    from: {
      path: `^${CP}/(domain|dtos|services|ingest|middleware|controllers|ui)/`,
      pathNot: CP_TEST_CODE,
    },
    to: { path: IO_MODULES, dependencyTypesNot: ['type-only'] },
  },
];

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
