
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'kyuubi-reaper' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'kyuubi-reaper'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'kyuubi-reaper' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Report which Kyuubi engine pods are orphans, suspects or kept (read-only)')
            [CompletionResult]::new('reap', 'reap', [CompletionResultType]::ParameterValue, 'Delete the orphans: exactly the pods judged, behind the safety gate, with dry runs, a reviewable plan and an audit trail')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Keep reaping as a service: pods are watched, state files followed, orphans deleted as their retain period ends; /metrics, /healthz and /readyz over HTTP; optional leader election among replicas')
            [CompletionResult]::new('manifests', 'manifests', [CompletionResultType]::ParameterValue, 'Print the Kubernetes objects that deploy the tool (YAML, for `kubectl apply -f -`)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kyuubi-reaper;scan' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only. Repeat for several Kyuubi instances')
            [CompletionResult]::new('--store-url', '--store-url', [CompletionResultType]::ParameterName, 'A Kyuubi metadata store in a database server: `mysql://USER@HOST[:PORT]/DB` or `postgresql://USER@HOST[:PORT]/DB` (Kyuubi''s `kyuubi.metadata.store.jdbc.url`, as a URL), with TLS options `?ssl-mode=VERIFY_IDENTITY&ssl-ca=PATH` (MySQL) or `?sslmode=verify-full&sslrootcert=PATH` (PostgreSQL). Read in one read-only transaction, only the rows of the candidate pods'' tags. The password comes from `$KYUUBI_REAPER_STORE_PASSWORD` or --store-password-file (one in the URL works but is warned about). Repeatable')
            [CompletionResult]::new('--store-password-file', '--store-password-file', [CompletionResultType]::ParameterName, 'A file holding the password of the --store-url user (its first line)')
            [CompletionResult]::new('--store-timeout', '--store-timeout', [CompletionResultType]::ParameterName, 'Give up on a --store-url server that does not answer within this (connecting, and each query)')
            [CompletionResult]::new('--zk-snapshot', '--zk-snapshot', [CompletionResultType]::ParameterName, 'ZooKeeper''s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable')
            [CompletionResult]::new('--zk-log-dir', '--zk-log-dir', [CompletionResultType]::ParameterName, 'ZooKeeper''s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)')
            [CompletionResult]::new('--zk', '--zk', [CompletionResultType]::ParameterName, 'A live ZooKeeper ensemble, `HOST:PORT[,HOST:PORT…][/CHROOT]` (Kyuubi''s `kyuubi.ha.addresses`): every engine space of the --ha-namespaces is read after a `sync`; a live ephemeral registration means its engine''s session is alive. Read-only. Repeatable, for several ensembles')
            [CompletionResult]::new('--zk-timeout', '--zk-timeout', [CompletionResultType]::ParameterName, 'Refuse a --zk ensemble that cannot be read whole within this (every server tried; a partial read is never used)')
            [CompletionResult]::new('--zk-auth-file', '--zk-auth-file', [CompletionResultType]::ParameterName, 'A file holding `USER:PASSWORD` for ZooKeeper''s `digest` scheme, when the engine spaces'' ACLs require it (Kyuubi''s `kyuubi.ha.zookeeper.auth.type=DIGEST`)')
            [CompletionResult]::new('--zk-tls-ca', '--zk-tls-ca', [CompletionResultType]::ParameterName, 'Connect to --zk over TLS, trusting the CA certificates (PEM) of this file only')
            [CompletionResult]::new('--zk-tls-cert', '--zk-tls-cert', [CompletionResultType]::ParameterName, 'A client certificate (PEM) for --zk over TLS, when the ensemble requires one')
            [CompletionResult]::new('--zk-tls-key', '--zk-tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --zk-tls-cert')
            [CompletionResult]::new('--ha-namespace', '--ha-namespace', [CompletionResultType]::ParameterName, 'Kyuubi''s `kyuubi.ha.namespace` (with the ZooKeeper chroot in front, if any: `chroot/kyuubi`): engine registrations are read from `/<NS>_<version>_<LEVEL>_<TYPE>`. Repeatable')
            [CompletionResult]::new('--max-state-age', '--max-state-age', [CompletionResultType]::ParameterName, 'Refuse a ZooKeeper state whose last transaction is older than this: a stale state could hide engines that registered since')
            [CompletionResult]::new('--pods', '--pods', [CompletionResultType]::ParameterName, 'Read pods from a file saved with `kubectl get pods -o json` (or `-o yaml`) instead of a cluster; `-` reads standard input')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'The kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'A kubeconfig context to list pods from (default: the current context). Repeatable')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'A namespace to scan (default: the context''s namespace; with --pods, every namespace in the file). Repeatable')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'A namespace to scan (default: the context''s namespace; with --pods, every namespace in the file). Repeatable')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`')
            [CompletionResult]::new('--max-pod-file-size', '--max-pod-file-size', [CompletionResultType]::ParameterName, 'The largest pod file read (--pods): a larger file, or a pipe that goes on past it, is refused. JSON is read item by item whatever its size; YAML is held whole while it is read. Bytes, or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB')
            [CompletionResult]::new('--retain', '--retain', [CompletionResultType]::ParameterName, 'Leave terminated pods alone for this long (Kyuubi''s own 5m retain period, its 1m check interval, and a margin for clock skew)')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Suspect classes to treat as orphans: leaked-running, unregistered-running, stuck-pending (comma-separated or repeated)')
            [CompletionResult]::new('--stuck-after', '--stuck-after', [CompletionResultType]::ParameterName, 'A Pending pod older than this is a `stuck-pending` suspect')
            [CompletionResult]::new('--engine-start-timeout', '--engine-start-timeout', [CompletionResultType]::ParameterName, 'How long an engine may take to register before a running pod without a registration is an `unregistered-running` suspect (needs a ZooKeeper source)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Connect timeout, and the longest one request may take to answer completely')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Retries of a request that timed out, lost its connection, or got 429 or 5xx (with exponential backoff and full jitter; Retry-After honoured up to 30s)')
            [CompletionResult]::new('--deadline', '--deadline', [CompletionResultType]::ParameterName, 'The whole run''s budget for API requests; when it passes, no request is started or retried')
            [CompletionResult]::new('--max-page-size', '--max-page-size', [CompletionResultType]::ParameterName, 'The largest answer read from the API server (a page of 500 pods is a few MB): a bigger one, or one that never ends, fails the request. Units as for --max-pod-file-size')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: a table for people, json/yaml for machines, or `name` (namespace/name of each orphan, one per line)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: a table for people, json/yaml for machines, or `name` (namespace/name of each orphan, one per line)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('--allow-empty-state', '--allow-empty-state', [CompletionResultType]::ParameterName, 'Judge pods even when the state sources know no engine at all (refused by default: usually the wrong store was given)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Scan every namespace')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Scan every namespace')
            [CompletionResult]::new('--keep-failed', '--keep-failed', [CompletionResultType]::ParameterName, 'Keep Failed pods for debugging; only Succeeded ones become orphans')
            [CompletionResult]::new('--require-record', '--require-record', [CompletionResultType]::ParameterName, 'Only pods with a terminal Kyuubi record (a batch row or `k8s_engine_info` row) may be orphans. Use it when not every Kyuubi instance''s store is given')
            [CompletionResult]::new('--fail-on-orphans', '--fail-on-orphans', [CompletionResultType]::ParameterName, 'Exit with code 1 when orphans are found')
            [CompletionResult]::new('--fail-on-suspects', '--fail-on-suspects', [CompletionResultType]::ParameterName, 'Exit with code 1 when suspects are found')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kyuubi-reaper;reap' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only. Repeat for several Kyuubi instances')
            [CompletionResult]::new('--store-url', '--store-url', [CompletionResultType]::ParameterName, 'A Kyuubi metadata store in a database server: `mysql://USER@HOST[:PORT]/DB` or `postgresql://USER@HOST[:PORT]/DB` (Kyuubi''s `kyuubi.metadata.store.jdbc.url`, as a URL), with TLS options `?ssl-mode=VERIFY_IDENTITY&ssl-ca=PATH` (MySQL) or `?sslmode=verify-full&sslrootcert=PATH` (PostgreSQL). Read in one read-only transaction, only the rows of the candidate pods'' tags. The password comes from `$KYUUBI_REAPER_STORE_PASSWORD` or --store-password-file (one in the URL works but is warned about). Repeatable')
            [CompletionResult]::new('--store-password-file', '--store-password-file', [CompletionResultType]::ParameterName, 'A file holding the password of the --store-url user (its first line)')
            [CompletionResult]::new('--store-timeout', '--store-timeout', [CompletionResultType]::ParameterName, 'Give up on a --store-url server that does not answer within this (connecting, and each query)')
            [CompletionResult]::new('--zk-snapshot', '--zk-snapshot', [CompletionResultType]::ParameterName, 'ZooKeeper''s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable')
            [CompletionResult]::new('--zk-log-dir', '--zk-log-dir', [CompletionResultType]::ParameterName, 'ZooKeeper''s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)')
            [CompletionResult]::new('--zk', '--zk', [CompletionResultType]::ParameterName, 'A live ZooKeeper ensemble, `HOST:PORT[,HOST:PORT…][/CHROOT]` (Kyuubi''s `kyuubi.ha.addresses`): every engine space of the --ha-namespaces is read after a `sync`; a live ephemeral registration means its engine''s session is alive. Read-only. Repeatable, for several ensembles')
            [CompletionResult]::new('--zk-timeout', '--zk-timeout', [CompletionResultType]::ParameterName, 'Refuse a --zk ensemble that cannot be read whole within this (every server tried; a partial read is never used)')
            [CompletionResult]::new('--zk-auth-file', '--zk-auth-file', [CompletionResultType]::ParameterName, 'A file holding `USER:PASSWORD` for ZooKeeper''s `digest` scheme, when the engine spaces'' ACLs require it (Kyuubi''s `kyuubi.ha.zookeeper.auth.type=DIGEST`)')
            [CompletionResult]::new('--zk-tls-ca', '--zk-tls-ca', [CompletionResultType]::ParameterName, 'Connect to --zk over TLS, trusting the CA certificates (PEM) of this file only')
            [CompletionResult]::new('--zk-tls-cert', '--zk-tls-cert', [CompletionResultType]::ParameterName, 'A client certificate (PEM) for --zk over TLS, when the ensemble requires one')
            [CompletionResult]::new('--zk-tls-key', '--zk-tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --zk-tls-cert')
            [CompletionResult]::new('--ha-namespace', '--ha-namespace', [CompletionResultType]::ParameterName, 'Kyuubi''s `kyuubi.ha.namespace` (with the ZooKeeper chroot in front, if any: `chroot/kyuubi`): engine registrations are read from `/<NS>_<version>_<LEVEL>_<TYPE>`. Repeatable')
            [CompletionResult]::new('--max-state-age', '--max-state-age', [CompletionResultType]::ParameterName, 'Refuse a ZooKeeper state whose last transaction is older than this: a stale state could hide engines that registered since')
            [CompletionResult]::new('--pods', '--pods', [CompletionResultType]::ParameterName, 'Read pods from a file saved with `kubectl get pods -o json` (or `-o yaml`) instead of a cluster; `-` reads standard input')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'The kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'A kubeconfig context to list pods from (default: the current context). Repeatable')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'A namespace to scan (default: the context''s namespace; with --pods, every namespace in the file). Repeatable')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'A namespace to scan (default: the context''s namespace; with --pods, every namespace in the file). Repeatable')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`')
            [CompletionResult]::new('--max-pod-file-size', '--max-pod-file-size', [CompletionResultType]::ParameterName, 'The largest pod file read (--pods): a larger file, or a pipe that goes on past it, is refused. JSON is read item by item whatever its size; YAML is held whole while it is read. Bytes, or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB')
            [CompletionResult]::new('--retain', '--retain', [CompletionResultType]::ParameterName, 'Leave terminated pods alone for this long (Kyuubi''s own 5m retain period, its 1m check interval, and a margin for clock skew)')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Suspect classes to treat as orphans: leaked-running, unregistered-running, stuck-pending (comma-separated or repeated)')
            [CompletionResult]::new('--stuck-after', '--stuck-after', [CompletionResultType]::ParameterName, 'A Pending pod older than this is a `stuck-pending` suspect')
            [CompletionResult]::new('--engine-start-timeout', '--engine-start-timeout', [CompletionResultType]::ParameterName, 'How long an engine may take to register before a running pod without a registration is an `unregistered-running` suspect (needs a ZooKeeper source)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Connect timeout, and the longest one request may take to answer completely')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Retries of a request that timed out, lost its connection, or got 429 or 5xx (with exponential backoff and full jitter; Retry-After honoured up to 30s)')
            [CompletionResult]::new('--deadline', '--deadline', [CompletionResultType]::ParameterName, 'The whole run''s budget for API requests; when it passes, no request is started or retried')
            [CompletionResult]::new('--max-page-size', '--max-page-size', [CompletionResultType]::ParameterName, 'The largest answer read from the API server (a page of 500 pods is a few MB): a bigger one, or one that never ends, fails the request. Units as for --max-pod-file-size')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be deleted without deleting: `client` (the default when given bare) sends nothing; `server` sends every DELETE with `dryRun=All`, which also proves RBAC and admission, and removes nothing')
            [CompletionResult]::new('--max-deletions', '--max-deletions', [CompletionResultType]::ParameterName, 'Refuse the whole run (nothing deleted) when more orphans than this are found; `watch` counts the deletes of the last --window')
            [CompletionResult]::new('--max-orphan-ratio', '--max-orphan-ratio', [CompletionResultType]::ParameterName, 'Refuse the whole run when orphans are more than this fraction of the candidate pods (`watch`: of each round of deletes)')
            [CompletionResult]::new('--qps', '--qps', [CompletionResultType]::ParameterName, 'DELETE requests per second per API server, on average (client-side rate limit)')
            [CompletionResult]::new('--burst', '--burst', [CompletionResultType]::ParameterName, 'DELETE requests allowed at once above the --qps rate')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Deletes in flight at once, over all contexts')
            [CompletionResult]::new('--grace-period', '--grace-period', [CompletionResultType]::ParameterName, 'Grace period in seconds for pods that still run (suspects included with --include); default: the pod''s own. Terminated pods are removed at once whatever this says')
            [CompletionResult]::new('--audit-log', '--audit-log', [CompletionResultType]::ParameterName, 'Append one JSON line per pod outcome to this file, flushed as each completes')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'Apply a reviewed plan: a `scan -o json` report, whose orphans are deleted with the uid and resourceVersion recorded in it (contexts matched by name). No state source is read')
            [CompletionResult]::new('--max-plan-age', '--max-plan-age', [CompletionResultType]::ParameterName, 'Refuse a plan older than this')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format: a table for people, json/yaml (schema `kyuubi-reaper.reap/v1`), or `name` (namespace/name of each pod deleted, one per line)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format: a table for people, json/yaml (schema `kyuubi-reaper.reap/v1`), or `name` (namespace/name of each pod deleted, one per line)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('--allow-empty-state', '--allow-empty-state', [CompletionResultType]::ParameterName, 'Judge pods even when the state sources know no engine at all (refused by default: usually the wrong store was given)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Scan every namespace')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Scan every namespace')
            [CompletionResult]::new('--keep-failed', '--keep-failed', [CompletionResultType]::ParameterName, 'Keep Failed pods for debugging; only Succeeded ones become orphans')
            [CompletionResult]::new('--require-record', '--require-record', [CompletionResultType]::ParameterName, 'Only pods with a terminal Kyuubi record (a batch row or `k8s_engine_info` row) may be orphans. Use it when not every Kyuubi instance''s store is given')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Delete without asking (`reap`: required when stdin is not a terminal; `watch`: required unless --dry-run, as a service has no terminal to ask on)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Delete without asking (`reap`: required when stdin is not a terminal; `watch`: required unless --dry-run, as a service has no terminal to ask on)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kyuubi-reaper;watch' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only. Repeat for several Kyuubi instances')
            [CompletionResult]::new('--store-url', '--store-url', [CompletionResultType]::ParameterName, 'A Kyuubi metadata store in a database server: `mysql://USER@HOST[:PORT]/DB` or `postgresql://USER@HOST[:PORT]/DB` (Kyuubi''s `kyuubi.metadata.store.jdbc.url`, as a URL), with TLS options `?ssl-mode=VERIFY_IDENTITY&ssl-ca=PATH` (MySQL) or `?sslmode=verify-full&sslrootcert=PATH` (PostgreSQL). Read in one read-only transaction, only the rows of the candidate pods'' tags. The password comes from `$KYUUBI_REAPER_STORE_PASSWORD` or --store-password-file (one in the URL works but is warned about). Repeatable')
            [CompletionResult]::new('--store-password-file', '--store-password-file', [CompletionResultType]::ParameterName, 'A file holding the password of the --store-url user (its first line)')
            [CompletionResult]::new('--store-timeout', '--store-timeout', [CompletionResultType]::ParameterName, 'Give up on a --store-url server that does not answer within this (connecting, and each query)')
            [CompletionResult]::new('--zk-snapshot', '--zk-snapshot', [CompletionResultType]::ParameterName, 'ZooKeeper''s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable')
            [CompletionResult]::new('--zk-log-dir', '--zk-log-dir', [CompletionResultType]::ParameterName, 'ZooKeeper''s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)')
            [CompletionResult]::new('--zk', '--zk', [CompletionResultType]::ParameterName, 'A live ZooKeeper ensemble, `HOST:PORT[,HOST:PORT…][/CHROOT]` (Kyuubi''s `kyuubi.ha.addresses`): every engine space of the --ha-namespaces is read after a `sync`; a live ephemeral registration means its engine''s session is alive. Read-only. Repeatable, for several ensembles')
            [CompletionResult]::new('--zk-timeout', '--zk-timeout', [CompletionResultType]::ParameterName, 'Refuse a --zk ensemble that cannot be read whole within this (every server tried; a partial read is never used)')
            [CompletionResult]::new('--zk-auth-file', '--zk-auth-file', [CompletionResultType]::ParameterName, 'A file holding `USER:PASSWORD` for ZooKeeper''s `digest` scheme, when the engine spaces'' ACLs require it (Kyuubi''s `kyuubi.ha.zookeeper.auth.type=DIGEST`)')
            [CompletionResult]::new('--zk-tls-ca', '--zk-tls-ca', [CompletionResultType]::ParameterName, 'Connect to --zk over TLS, trusting the CA certificates (PEM) of this file only')
            [CompletionResult]::new('--zk-tls-cert', '--zk-tls-cert', [CompletionResultType]::ParameterName, 'A client certificate (PEM) for --zk over TLS, when the ensemble requires one')
            [CompletionResult]::new('--zk-tls-key', '--zk-tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --zk-tls-cert')
            [CompletionResult]::new('--ha-namespace', '--ha-namespace', [CompletionResultType]::ParameterName, 'Kyuubi''s `kyuubi.ha.namespace` (with the ZooKeeper chroot in front, if any: `chroot/kyuubi`): engine registrations are read from `/<NS>_<version>_<LEVEL>_<TYPE>`. Repeatable')
            [CompletionResult]::new('--max-state-age', '--max-state-age', [CompletionResultType]::ParameterName, 'Refuse a ZooKeeper state whose last transaction is older than this: a stale state could hide engines that registered since')
            [CompletionResult]::new('--pods', '--pods', [CompletionResultType]::ParameterName, 'Read pods from a file saved with `kubectl get pods -o json` (or `-o yaml`) instead of a cluster; `-` reads standard input')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'The kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'A kubeconfig context to list pods from (default: the current context). Repeatable')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'A namespace to scan (default: the context''s namespace; with --pods, every namespace in the file). Repeatable')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'A namespace to scan (default: the context''s namespace; with --pods, every namespace in the file). Repeatable')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`')
            [CompletionResult]::new('--max-pod-file-size', '--max-pod-file-size', [CompletionResultType]::ParameterName, 'The largest pod file read (--pods): a larger file, or a pipe that goes on past it, is refused. JSON is read item by item whatever its size; YAML is held whole while it is read. Bytes, or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB')
            [CompletionResult]::new('--retain', '--retain', [CompletionResultType]::ParameterName, 'Leave terminated pods alone for this long (Kyuubi''s own 5m retain period, its 1m check interval, and a margin for clock skew)')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Suspect classes to treat as orphans: leaked-running, unregistered-running, stuck-pending (comma-separated or repeated)')
            [CompletionResult]::new('--stuck-after', '--stuck-after', [CompletionResultType]::ParameterName, 'A Pending pod older than this is a `stuck-pending` suspect')
            [CompletionResult]::new('--engine-start-timeout', '--engine-start-timeout', [CompletionResultType]::ParameterName, 'How long an engine may take to register before a running pod without a registration is an `unregistered-running` suspect (needs a ZooKeeper source)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Connect timeout, and the longest one request may take to answer completely')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Retries of a request that timed out, lost its connection, or got 429 or 5xx (with exponential backoff and full jitter; Retry-After honoured up to 30s)')
            [CompletionResult]::new('--deadline', '--deadline', [CompletionResultType]::ParameterName, 'The whole run''s budget for API requests; when it passes, no request is started or retried')
            [CompletionResult]::new('--max-page-size', '--max-page-size', [CompletionResultType]::ParameterName, 'The largest answer read from the API server (a page of 500 pods is a few MB): a bigger one, or one that never ends, fails the request. Units as for --max-pod-file-size')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be deleted without deleting: `client` (the default when given bare) sends nothing; `server` sends every DELETE with `dryRun=All`, which also proves RBAC and admission, and removes nothing')
            [CompletionResult]::new('--max-deletions', '--max-deletions', [CompletionResultType]::ParameterName, 'Refuse the whole run (nothing deleted) when more orphans than this are found; `watch` counts the deletes of the last --window')
            [CompletionResult]::new('--max-orphan-ratio', '--max-orphan-ratio', [CompletionResultType]::ParameterName, 'Refuse the whole run when orphans are more than this fraction of the candidate pods (`watch`: of each round of deletes)')
            [CompletionResult]::new('--qps', '--qps', [CompletionResultType]::ParameterName, 'DELETE requests per second per API server, on average (client-side rate limit)')
            [CompletionResult]::new('--burst', '--burst', [CompletionResultType]::ParameterName, 'DELETE requests allowed at once above the --qps rate')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Deletes in flight at once, over all contexts')
            [CompletionResult]::new('--grace-period', '--grace-period', [CompletionResultType]::ParameterName, 'Grace period in seconds for pods that still run (suspects included with --include); default: the pod''s own. Terminated pods are removed at once whatever this says')
            [CompletionResult]::new('--audit-log', '--audit-log', [CompletionResultType]::ParameterName, 'Append one JSON line per pod outcome to this file, flushed as each completes')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address of the HTTP server for /metrics, /healthz and /readyz')
            [CompletionResult]::new('--resync', '--resync', [CompletionResultType]::ParameterName, 'A full relist of the pods and reload of the state this often; watch events and state file changes keep both current in between')
            [CompletionResult]::new('--state-poll', '--state-poll', [CompletionResultType]::ParameterName, 'How often the state files are checked for changes besides file notifications, which shared volumes often do not deliver')
            [CompletionResult]::new('--store-poll', '--store-poll', [CompletionResultType]::ParameterName, 'How often each --store-url server is asked, with one cheap query, whether its tables changed (a change reads the state again)')
            [CompletionResult]::new('--window', '--window', [CompletionResultType]::ParameterName, 'The sliding window over which --max-deletions counts deletes')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format on stderr: `text` for people, `json` (one object per line) for collectors')
            [CompletionResult]::new('--lease-name', '--lease-name', [CompletionResultType]::ParameterName, 'The Lease''s name')
            [CompletionResult]::new('--lease-namespace', '--lease-namespace', [CompletionResultType]::ParameterName, 'The Lease''s namespace (default: the namespace of the first context, or of the pod when in-cluster)')
            [CompletionResult]::new('--lease-duration', '--lease-duration', [CompletionResultType]::ParameterName, 'How long the lease holds without renewal. The leader stops deleting when it could not renew for two thirds of it; another replica takes over once it has passed')
            [CompletionResult]::new('--lease-identity', '--lease-identity', [CompletionResultType]::ParameterName, 'This replica''s identity in the Lease (default: `$POD_NAME` or the host name, and a random suffix)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('--allow-empty-state', '--allow-empty-state', [CompletionResultType]::ParameterName, 'Judge pods even when the state sources know no engine at all (refused by default: usually the wrong store was given)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Scan every namespace')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Scan every namespace')
            [CompletionResult]::new('--keep-failed', '--keep-failed', [CompletionResultType]::ParameterName, 'Keep Failed pods for debugging; only Succeeded ones become orphans')
            [CompletionResult]::new('--require-record', '--require-record', [CompletionResultType]::ParameterName, 'Only pods with a terminal Kyuubi record (a batch row or `k8s_engine_info` row) may be orphans. Use it when not every Kyuubi instance''s store is given')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Delete without asking (`reap`: required when stdin is not a terminal; `watch`: required unless --dry-run, as a service has no terminal to ask on)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Delete without asking (`reap`: required when stdin is not a terminal; `watch`: required unless --dry-run, as a service has no terminal to ask on)')
            [CompletionResult]::new('--leader-elect', '--leader-elect', [CompletionResultType]::ParameterName, 'Elect one leader among replicas with a `coordination.k8s.io/v1` Lease: only the leader deletes; the others keep their pods and state current and take over when it stops')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kyuubi-reaper;manifests' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace of the tool''s objects (`sidecar`: Kyuubi''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace of the tool''s objects (`sidecar`: Kyuubi''s namespace)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'The container image of the tool; its entrypoint must be the `kyuubi-reaper` binary')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The name of every object, of the container and of the Lease: a DNS label of at most 52 characters starting with a letter (a `CronJob`''s limit)')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'A Kyuubi metadata store file, as a path inside the container (under a --state-claim or --state-volume directory). Repeatable')
            [CompletionResult]::new('--zk-snapshot', '--zk-snapshot', [CompletionResultType]::ParameterName, 'ZooKeeper''s files (a data directory or a snapshot), as a path inside the container. Repeatable')
            [CompletionResult]::new('--store-url', '--store-url', [CompletionResultType]::ParameterName, 'A Kyuubi metadata store in MySQL/MariaDB or PostgreSQL, as for `scan --store-url` (TLS files named in it must be in the image). No password in it: a manifest is stored in the cluster as plain text; use --store-password-secret. Repeatable')
            [CompletionResult]::new('--store-password-secret', '--store-password-secret', [CompletionResultType]::ParameterName, 'The key of a Secret in --namespace holding the --store-url password, as `SECRET:KEY`; the tool gets it as `$KYUUBI_REAPER_STORE_PASSWORD`')
            [CompletionResult]::new('--zk', '--zk', [CompletionResultType]::ParameterName, 'A live ZooKeeper ensemble, as for `scan --zk` (`host:port[,host:port...][/chroot]`). Repeatable')
            [CompletionResult]::new('--state-claim', '--state-claim', [CompletionResultType]::ParameterName, 'cronjob, deployment: a `PersistentVolumeClaim` holding state files, mounted read-only at DIR (default: --state-mount). Repeatable, one directory each (Kyuubi''s store and ZooKeeper''s data are usually on different claims)')
            [CompletionResult]::new('--state-volume', '--state-volume', [CompletionResultType]::ParameterName, 'sidecar: a volume of Kyuubi''s pod holding its store, mounted read-only in the sidecar at DIR (default: --state-mount). Repeatable')
            [CompletionResult]::new('--state-mount', '--state-mount', [CompletionResultType]::ParameterName, 'Where a --state-claim or --state-volume without `:DIR` is mounted')
            [CompletionResult]::new('--reap-namespace', '--reap-namespace', [CompletionResultType]::ParameterName, 'A namespace whose pods are reaped: a `Role` and `RoleBinding` in each (default: --namespace). Repeatable')
            [CompletionResult]::new('--retain', '--retain', [CompletionResultType]::ParameterName, 'Passed to the tool: leave terminated pods alone for this long (the tool''s default: 10m)')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Passed to the tool: suspect classes to delete as orphans (comma-separated or repeated)')
            [CompletionResult]::new('--extra-arg', '--extra-arg', [CompletionResultType]::ParameterName, 'An argument appended to the tool''s command line, e.g. `--extra-arg=--ha-namespace=prod/kyuubi`. Repeatable. The whole command line is checked as the tool would check it; flags the manifests set themselves (namespaces, state paths, --deadline, --listen, leader election) cannot be changed this way')
            [CompletionResult]::new('--schedule', '--schedule', [CompletionResultType]::ParameterName, 'cronjob: when to run, five cron fields or a macro such as @hourly [default: */10 * * * *]')
            [CompletionResult]::new('--deadline', '--deadline', [CompletionResultType]::ParameterName, 'cronjob: the run''s --deadline; the Job''s `activeDeadlineSeconds` is two minutes longer [default: 5m]')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'deployment: the number of replicas [default: 2, or 1 with --no-leader-elect]')
            [CompletionResult]::new('--lease-name', '--lease-name', [CompletionResultType]::ParameterName, 'deployment: the Lease''s name (default: --name), in --namespace')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'deployment, sidecar: the container port of /metrics, /healthz and /readyz [default: 9464]')
            [CompletionResult]::new('--service-account', '--service-account', [CompletionResultType]::ParameterName, 'sidecar (required): the `ServiceAccount` Kyuubi''s pod runs as; the sidecar shares it, so the pod RBAC is bound to it')
            [CompletionResult]::new('--print', '--print', [CompletionResultType]::ParameterName, 'sidecar: what to print: `rbac` (for `kubectl apply -f -`), `patch` (a strategic merge patch adding the container to Kyuubi''s workload, for `kubectl patch --patch-file`) or `container` (the container alone, for a chart''s extra containers) [default: rbac]')
            [CompletionResult]::new('--workload', '--workload', [CompletionResultType]::ParameterName, 'sidecar, with --print patch: Kyuubi''s workload, named in the patch''s instructions [default: statefulset/kyuubi]')
            [CompletionResult]::new('--cpu-request', '--cpu-request', [CompletionResultType]::ParameterName, 'The container''s CPU request')
            [CompletionResult]::new('--cpu-limit', '--cpu-limit', [CompletionResultType]::ParameterName, 'The container''s CPU limit (default: none, so the tool is never throttled)')
            [CompletionResult]::new('--memory-request', '--memory-request', [CompletionResultType]::ParameterName, 'The container''s memory request')
            [CompletionResult]::new('--memory-limit', '--memory-limit', [CompletionResultType]::ParameterName, 'The container''s memory limit. `watch` holds about 1-2 KB per candidate pod: 512Mi is ample for 100,000 of them')
            [CompletionResult]::new('--run-as-user', '--run-as-user', [CompletionResultType]::ParameterName, 'The numeric user the container runs as (never root); it must be able to read the state files')
            [CompletionResult]::new('--run-as-group', '--run-as-group', [CompletionResultType]::ParameterName, 'The numeric group the container runs as')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Reap the pods of every namespace (a `ClusterRole` and `ClusterRoleBinding`)')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Reap the pods of every namespace (a `ClusterRole` and `ClusterRoleBinding`)')
            [CompletionResult]::new('--admission-guard', '--admission-guard', [CompletionResultType]::ParameterName, 'cronjob, deployment: add a `ValidatingAdmissionPolicy` and its binding that deny the tool''s `ServiceAccount` the DELETE of any pod that is not a Kyuubi driver pod (labels `kyuubi-unique-tag`, `spark-app-selector`, `spark-role=driver`): RBAC cannot filter by label. Kubernetes 1.30 or newer')
            [CompletionResult]::new('--leader-elect', '--leader-elect', [CompletionResultType]::ParameterName, 'deployment: elect one leader among the replicas with a Lease (the default); only the leader deletes')
            [CompletionResult]::new('--no-leader-elect', '--no-leader-elect', [CompletionResultType]::ParameterName, 'deployment: no leader election (one replica only)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kyuubi-reaper;completions' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors (no summary line, no progress)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'kyuubi-reaper;help' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Report which Kyuubi engine pods are orphans, suspects or kept (read-only)')
            [CompletionResult]::new('reap', 'reap', [CompletionResultType]::ParameterValue, 'Delete the orphans: exactly the pods judged, behind the safety gate, with dry runs, a reviewable plan and an audit trail')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Keep reaping as a service: pods are watched, state files followed, orphans deleted as their retain period ends; /metrics, /healthz and /readyz over HTTP; optional leader election among replicas')
            [CompletionResult]::new('manifests', 'manifests', [CompletionResultType]::ParameterValue, 'Print the Kubernetes objects that deploy the tool (YAML, for `kubectl apply -f -`)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kyuubi-reaper;help;scan' {
            break
        }
        'kyuubi-reaper;help;reap' {
            break
        }
        'kyuubi-reaper;help;watch' {
            break
        }
        'kyuubi-reaper;help;manifests' {
            break
        }
        'kyuubi-reaper;help;completions' {
            break
        }
        'kyuubi-reaper;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
