# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kyuubi_reaper_global_optspecs
    string join \n q/quiet v/verbose color= h/help V/version
end

function __fish_kyuubi_reaper_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kyuubi_reaper_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kyuubi_reaper_using_subcommand
    set -l cmd (__fish_kyuubi_reaper_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -l color -d 'When to colour output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -s q -l quiet -d 'Print only errors (no summary line, no progress)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -s v -l verbose -d 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -s V -l version -d 'Print version'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -f -a "scan" -d 'Report which Kyuubi engine pods are orphans, suspects or kept (read-only)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -f -a "reap" -d 'Delete the orphans: exactly the pods judged, behind the safety gate, with dry runs, a reviewable plan and an audit trail'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -f -a "watch" -d 'Keep reaping as a service: pods are watched, state files followed, orphans deleted as their retain period ends; /metrics, /healthz and /readyz over HTTP; optional leader election among replicas'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -f -a "manifests" -d 'Print the Kubernetes objects that deploy the tool (YAML, for `kubectl apply -f -`)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l store -d 'A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only. Repeat for several Kyuubi instances' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l store-url -d 'A Kyuubi metadata store in a database server: `mysql://USER@HOST[:PORT]/DB` or `postgresql://USER@HOST[:PORT]/DB` (Kyuubi\'s `kyuubi.metadata.store.jdbc.url`, as a URL), with TLS options `?ssl-mode=VERIFY_IDENTITY&ssl-ca=PATH` (MySQL) or `?sslmode=verify-full&sslrootcert=PATH` (PostgreSQL). Read in one read-only transaction, only the rows of the candidate pods\' tags. The password comes from `$KYUUBI_REAPER_STORE_PASSWORD` or --store-password-file (one in the URL works but is warned about). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l store-password-file -d 'A file holding the password of the --store-url user (its first line)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l store-timeout -d 'Give up on a --store-url server that does not answer within this (connecting, and each query)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l zk-snapshot -d 'ZooKeeper\'s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l zk-log-dir -d 'ZooKeeper\'s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l zk -d 'A live ZooKeeper ensemble, `HOST:PORT[,HOST:PORT…][/CHROOT]` (Kyuubi\'s `kyuubi.ha.addresses`): every engine space of the --ha-namespaces is read after a `sync`; a live ephemeral registration means its engine\'s session is alive. Read-only. Repeatable, for several ensembles' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l zk-timeout -d 'Refuse a --zk ensemble that cannot be read whole within this (every server tried; a partial read is never used)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l zk-auth-file -d 'A file holding `USER:PASSWORD` for ZooKeeper\'s `digest` scheme, when the engine spaces\' ACLs require it (Kyuubi\'s `kyuubi.ha.zookeeper.auth.type=DIGEST`)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l zk-tls-ca -d 'Connect to --zk over TLS, trusting the CA certificates (PEM) of this file only' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l zk-tls-cert -d 'A client certificate (PEM) for --zk over TLS, when the ensemble requires one' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l zk-tls-key -d 'The private key (PEM) of --zk-tls-cert' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l ha-namespace -d 'Kyuubi\'s `kyuubi.ha.namespace` (with the ZooKeeper chroot in front, if any: `chroot/kyuubi`): engine registrations are read from `/<NS>_<version>_<LEVEL>_<TYPE>`. Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l max-state-age -d 'Refuse a ZooKeeper state whose last transaction is older than this: a stale state could hide engines that registered since' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l pods -d 'Read pods from a file saved with `kubectl get pods -o json` (or `-o yaml`) instead of a cluster; `-` reads standard input' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l kubeconfig -d 'The kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l context -d 'A kubeconfig context to list pods from (default: the current context). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -s n -l namespace -d 'A namespace to scan (default: the context\'s namespace; with --pods, every namespace in the file). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -s l -l selector -d 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l max-pod-file-size -d 'The largest pod file read (--pods): a larger file, or a pipe that goes on past it, is refused. JSON is read item by item whatever its size; YAML is held whole while it is read. Bytes, or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l retain -d 'Leave terminated pods alone for this long (Kyuubi\'s own 5m retain period, its 1m check interval, and a margin for clock skew)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l include -d 'Suspect classes to treat as orphans: leaked-running, unregistered-running, stuck-pending (comma-separated or repeated)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l stuck-after -d 'A Pending pod older than this is a `stuck-pending` suspect' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l engine-start-timeout -d 'How long an engine may take to register before a running pod without a registration is an `unregistered-running` suspect (needs a ZooKeeper source)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l request-timeout -d 'Connect timeout, and the longest one request may take to answer completely' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l max-retries -d 'Retries of a request that timed out, lost its connection, or got 429 or 5xx (with exponential backoff and full jitter; Retry-After honoured up to 30s)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l deadline -d 'The whole run\'s budget for API requests; when it passes, no request is started or retried' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l max-page-size -d 'The largest answer read from the API server (a page of 500 pods is a few MB): a bigger one, or one that never ends, fails the request. Units as for --max-pod-file-size' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -s o -l output -d 'Output format: a table for people, json/yaml for machines, or `name` (namespace/name of each orphan, one per line)' -r -f -a "table\t'A table for people'
json\t'JSON, with the documented schema'
yaml\t'YAML, the same document as JSON'
name\t'`namespace/name` of each orphan, one per line'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l color -d 'When to colour output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l allow-empty-state -d 'Judge pods even when the state sources know no engine at all (refused by default: usually the wrong store was given)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -s A -l all-namespaces -d 'Scan every namespace'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l keep-failed -d 'Keep Failed pods for debugging; only Succeeded ones become orphans'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l require-record -d 'Only pods with a terminal Kyuubi record (a batch row or `k8s_engine_info` row) may be orphans. Use it when not every Kyuubi instance\'s store is given'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l fail-on-orphans -d 'Exit with code 1 when orphans are found'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l fail-on-suspects -d 'Exit with code 1 when suspects are found'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -s q -l quiet -d 'Print only errors (no summary line, no progress)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -s v -l verbose -d 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -s V -l version -d 'Print version'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l store -d 'A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only. Repeat for several Kyuubi instances' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l store-url -d 'A Kyuubi metadata store in a database server: `mysql://USER@HOST[:PORT]/DB` or `postgresql://USER@HOST[:PORT]/DB` (Kyuubi\'s `kyuubi.metadata.store.jdbc.url`, as a URL), with TLS options `?ssl-mode=VERIFY_IDENTITY&ssl-ca=PATH` (MySQL) or `?sslmode=verify-full&sslrootcert=PATH` (PostgreSQL). Read in one read-only transaction, only the rows of the candidate pods\' tags. The password comes from `$KYUUBI_REAPER_STORE_PASSWORD` or --store-password-file (one in the URL works but is warned about). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l store-password-file -d 'A file holding the password of the --store-url user (its first line)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l store-timeout -d 'Give up on a --store-url server that does not answer within this (connecting, and each query)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l zk-snapshot -d 'ZooKeeper\'s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l zk-log-dir -d 'ZooKeeper\'s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l zk -d 'A live ZooKeeper ensemble, `HOST:PORT[,HOST:PORT…][/CHROOT]` (Kyuubi\'s `kyuubi.ha.addresses`): every engine space of the --ha-namespaces is read after a `sync`; a live ephemeral registration means its engine\'s session is alive. Read-only. Repeatable, for several ensembles' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l zk-timeout -d 'Refuse a --zk ensemble that cannot be read whole within this (every server tried; a partial read is never used)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l zk-auth-file -d 'A file holding `USER:PASSWORD` for ZooKeeper\'s `digest` scheme, when the engine spaces\' ACLs require it (Kyuubi\'s `kyuubi.ha.zookeeper.auth.type=DIGEST`)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l zk-tls-ca -d 'Connect to --zk over TLS, trusting the CA certificates (PEM) of this file only' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l zk-tls-cert -d 'A client certificate (PEM) for --zk over TLS, when the ensemble requires one' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l zk-tls-key -d 'The private key (PEM) of --zk-tls-cert' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l ha-namespace -d 'Kyuubi\'s `kyuubi.ha.namespace` (with the ZooKeeper chroot in front, if any: `chroot/kyuubi`): engine registrations are read from `/<NS>_<version>_<LEVEL>_<TYPE>`. Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l max-state-age -d 'Refuse a ZooKeeper state whose last transaction is older than this: a stale state could hide engines that registered since' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l pods -d 'Read pods from a file saved with `kubectl get pods -o json` (or `-o yaml`) instead of a cluster; `-` reads standard input' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l kubeconfig -d 'The kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l context -d 'A kubeconfig context to list pods from (default: the current context). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s n -l namespace -d 'A namespace to scan (default: the context\'s namespace; with --pods, every namespace in the file). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s l -l selector -d 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l max-pod-file-size -d 'The largest pod file read (--pods): a larger file, or a pipe that goes on past it, is refused. JSON is read item by item whatever its size; YAML is held whole while it is read. Bytes, or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l retain -d 'Leave terminated pods alone for this long (Kyuubi\'s own 5m retain period, its 1m check interval, and a margin for clock skew)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l include -d 'Suspect classes to treat as orphans: leaked-running, unregistered-running, stuck-pending (comma-separated or repeated)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l stuck-after -d 'A Pending pod older than this is a `stuck-pending` suspect' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l engine-start-timeout -d 'How long an engine may take to register before a running pod without a registration is an `unregistered-running` suspect (needs a ZooKeeper source)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l request-timeout -d 'Connect timeout, and the longest one request may take to answer completely' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l max-retries -d 'Retries of a request that timed out, lost its connection, or got 429 or 5xx (with exponential backoff and full jitter; Retry-After honoured up to 30s)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l deadline -d 'The whole run\'s budget for API requests; when it passes, no request is started or retried' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l max-page-size -d 'The largest answer read from the API server (a page of 500 pods is a few MB): a bigger one, or one that never ends, fails the request. Units as for --max-pod-file-size' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l dry-run -d 'Show what would be deleted without deleting: `client` (the default when given bare) sends nothing; `server` sends every DELETE with `dryRun=All`, which also proves RBAC and admission, and removes nothing' -r -f -a "client\t'Send nothing'
server\t'Send each DELETE with `dryRun=All`'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l max-deletions -d 'Refuse the whole run (nothing deleted) when more orphans than this are found; `watch` counts the deletes of the last --window' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l max-orphan-ratio -d 'Refuse the whole run when orphans are more than this fraction of the candidate pods (`watch`: of each round of deletes)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l qps -d 'DELETE requests per second per API server, on average (client-side rate limit)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l burst -d 'DELETE requests allowed at once above the --qps rate' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l concurrency -d 'Deletes in flight at once, over all contexts' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l grace-period -d 'Grace period in seconds for pods that still run (suspects included with --include); default: the pod\'s own. Terminated pods are removed at once whatever this says' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l audit-log -d 'Append one JSON line per pod outcome to this file, flushed as each completes' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l plan -d 'Apply a reviewed plan: a `scan -o json` report, whose orphans are deleted with the uid and resourceVersion recorded in it (contexts matched by name). No state source is read' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l max-plan-age -d 'Refuse a plan older than this' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s o -l output -d 'Report format: a table for people, json/yaml (schema `kyuubi-reaper.reap/v1`), or `name` (namespace/name of each pod deleted, one per line)' -r -f -a "table\t'A table for people'
json\t'JSON, with the documented schema'
yaml\t'YAML, the same document as JSON'
name\t'`namespace/name` of each orphan, one per line'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l color -d 'When to colour output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l allow-empty-state -d 'Judge pods even when the state sources know no engine at all (refused by default: usually the wrong store was given)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s A -l all-namespaces -d 'Scan every namespace'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l keep-failed -d 'Keep Failed pods for debugging; only Succeeded ones become orphans'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l require-record -d 'Only pods with a terminal Kyuubi record (a batch row or `k8s_engine_info` row) may be orphans. Use it when not every Kyuubi instance\'s store is given'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s y -l yes -d 'Delete without asking (`reap`: required when stdin is not a terminal; `watch`: required unless --dry-run, as a service has no terminal to ask on)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s q -l quiet -d 'Print only errors (no summary line, no progress)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s v -l verbose -d 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s V -l version -d 'Print version'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l store -d 'A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only. Repeat for several Kyuubi instances' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l store-url -d 'A Kyuubi metadata store in a database server: `mysql://USER@HOST[:PORT]/DB` or `postgresql://USER@HOST[:PORT]/DB` (Kyuubi\'s `kyuubi.metadata.store.jdbc.url`, as a URL), with TLS options `?ssl-mode=VERIFY_IDENTITY&ssl-ca=PATH` (MySQL) or `?sslmode=verify-full&sslrootcert=PATH` (PostgreSQL). Read in one read-only transaction, only the rows of the candidate pods\' tags. The password comes from `$KYUUBI_REAPER_STORE_PASSWORD` or --store-password-file (one in the URL works but is warned about). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l store-password-file -d 'A file holding the password of the --store-url user (its first line)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l store-timeout -d 'Give up on a --store-url server that does not answer within this (connecting, and each query)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l zk-snapshot -d 'ZooKeeper\'s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l zk-log-dir -d 'ZooKeeper\'s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l zk -d 'A live ZooKeeper ensemble, `HOST:PORT[,HOST:PORT…][/CHROOT]` (Kyuubi\'s `kyuubi.ha.addresses`): every engine space of the --ha-namespaces is read after a `sync`; a live ephemeral registration means its engine\'s session is alive. Read-only. Repeatable, for several ensembles' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l zk-timeout -d 'Refuse a --zk ensemble that cannot be read whole within this (every server tried; a partial read is never used)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l zk-auth-file -d 'A file holding `USER:PASSWORD` for ZooKeeper\'s `digest` scheme, when the engine spaces\' ACLs require it (Kyuubi\'s `kyuubi.ha.zookeeper.auth.type=DIGEST`)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l zk-tls-ca -d 'Connect to --zk over TLS, trusting the CA certificates (PEM) of this file only' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l zk-tls-cert -d 'A client certificate (PEM) for --zk over TLS, when the ensemble requires one' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l zk-tls-key -d 'The private key (PEM) of --zk-tls-cert' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l ha-namespace -d 'Kyuubi\'s `kyuubi.ha.namespace` (with the ZooKeeper chroot in front, if any: `chroot/kyuubi`): engine registrations are read from `/<NS>_<version>_<LEVEL>_<TYPE>`. Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l max-state-age -d 'Refuse a ZooKeeper state whose last transaction is older than this: a stale state could hide engines that registered since' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l pods -d 'Read pods from a file saved with `kubectl get pods -o json` (or `-o yaml`) instead of a cluster; `-` reads standard input' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l kubeconfig -d 'The kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config)' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l context -d 'A kubeconfig context to list pods from (default: the current context). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -s n -l namespace -d 'A namespace to scan (default: the context\'s namespace; with --pods, every namespace in the file). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -s l -l selector -d 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l max-pod-file-size -d 'The largest pod file read (--pods): a larger file, or a pipe that goes on past it, is refused. JSON is read item by item whatever its size; YAML is held whole while it is read. Bytes, or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l retain -d 'Leave terminated pods alone for this long (Kyuubi\'s own 5m retain period, its 1m check interval, and a margin for clock skew)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l include -d 'Suspect classes to treat as orphans: leaked-running, unregistered-running, stuck-pending (comma-separated or repeated)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l stuck-after -d 'A Pending pod older than this is a `stuck-pending` suspect' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l engine-start-timeout -d 'How long an engine may take to register before a running pod without a registration is an `unregistered-running` suspect (needs a ZooKeeper source)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l request-timeout -d 'Connect timeout, and the longest one request may take to answer completely' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l max-retries -d 'Retries of a request that timed out, lost its connection, or got 429 or 5xx (with exponential backoff and full jitter; Retry-After honoured up to 30s)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l deadline -d 'The whole run\'s budget for API requests; when it passes, no request is started or retried' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l max-page-size -d 'The largest answer read from the API server (a page of 500 pods is a few MB): a bigger one, or one that never ends, fails the request. Units as for --max-pod-file-size' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l dry-run -d 'Show what would be deleted without deleting: `client` (the default when given bare) sends nothing; `server` sends every DELETE with `dryRun=All`, which also proves RBAC and admission, and removes nothing' -r -f -a "client\t'Send nothing'
server\t'Send each DELETE with `dryRun=All`'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l max-deletions -d 'Refuse the whole run (nothing deleted) when more orphans than this are found; `watch` counts the deletes of the last --window' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l max-orphan-ratio -d 'Refuse the whole run when orphans are more than this fraction of the candidate pods (`watch`: of each round of deletes)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l qps -d 'DELETE requests per second per API server, on average (client-side rate limit)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l burst -d 'DELETE requests allowed at once above the --qps rate' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l concurrency -d 'Deletes in flight at once, over all contexts' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l grace-period -d 'Grace period in seconds for pods that still run (suspects included with --include); default: the pod\'s own. Terminated pods are removed at once whatever this says' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l audit-log -d 'Append one JSON line per pod outcome to this file, flushed as each completes' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l listen -d 'Address of the HTTP server for /metrics, /healthz and /readyz' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l resync -d 'A full relist of the pods and reload of the state this often; watch events and state file changes keep both current in between' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l state-poll -d 'How often the state files are checked for changes besides file notifications, which shared volumes often do not deliver' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l store-poll -d 'How often each --store-url server is asked, with one cheap query, whether its tables changed (a change reads the state again)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l window -d 'The sliding window over which --max-deletions counts deletes' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l log-format -d 'Log format on stderr: `text` for people, `json` (one object per line) for collectors' -r -f -a "text\t'Lines for people'
json\t'One JSON object per line'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l lease-name -d 'The Lease\'s name' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l lease-namespace -d 'The Lease\'s namespace (default: the namespace of the first context, or of the pod when in-cluster)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l lease-duration -d 'How long the lease holds without renewal. The leader stops deleting when it could not renew for two thirds of it; another replica takes over once it has passed' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l lease-identity -d 'This replica\'s identity in the Lease (default: `$POD_NAME` or the host name, and a random suffix)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l color -d 'When to colour output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l allow-empty-state -d 'Judge pods even when the state sources know no engine at all (refused by default: usually the wrong store was given)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -s A -l all-namespaces -d 'Scan every namespace'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l keep-failed -d 'Keep Failed pods for debugging; only Succeeded ones become orphans'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l require-record -d 'Only pods with a terminal Kyuubi record (a batch row or `k8s_engine_info` row) may be orphans. Use it when not every Kyuubi instance\'s store is given'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -s y -l yes -d 'Delete without asking (`reap`: required when stdin is not a terminal; `watch`: required unless --dry-run, as a service has no terminal to ask on)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -l leader-elect -d 'Elect one leader among replicas with a `coordination.k8s.io/v1` Lease: only the leader deletes; the others keep their pods and state current and take over when it stops'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -s q -l quiet -d 'Print only errors (no summary line, no progress)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -s v -l verbose -d 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand watch" -s V -l version -d 'Print version'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -s n -l namespace -d 'The namespace of the tool\'s objects (`sidecar`: Kyuubi\'s namespace)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l image -d 'The container image of the tool; its entrypoint must be the `kyuubi-reaper` binary' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l name -d 'The name of every object, of the container and of the Lease: a DNS label of at most 52 characters starting with a letter (a `CronJob`\'s limit)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l store -d 'A Kyuubi metadata store file, as a path inside the container (under a --state-claim or --state-volume directory). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l zk-snapshot -d 'ZooKeeper\'s files (a data directory or a snapshot), as a path inside the container. Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l store-url -d 'A Kyuubi metadata store in MySQL/MariaDB or PostgreSQL, as for `scan --store-url` (TLS files named in it must be in the image). No password in it: a manifest is stored in the cluster as plain text; use --store-password-secret. Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l store-password-secret -d 'The key of a Secret in --namespace holding the --store-url password, as `SECRET:KEY`; the tool gets it as `$KYUUBI_REAPER_STORE_PASSWORD`' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l zk -d 'A live ZooKeeper ensemble, as for `scan --zk` (`host:port[,host:port...][/chroot]`). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l state-claim -d 'cronjob, deployment: a `PersistentVolumeClaim` holding state files, mounted read-only at DIR (default: --state-mount). Repeatable, one directory each (Kyuubi\'s store and ZooKeeper\'s data are usually on different claims)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l state-volume -d 'sidecar: a volume of Kyuubi\'s pod holding its store, mounted read-only in the sidecar at DIR (default: --state-mount). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l state-mount -d 'Where a --state-claim or --state-volume without `:DIR` is mounted' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l reap-namespace -d 'A namespace whose pods are reaped: a `Role` and `RoleBinding` in each (default: --namespace). Repeatable' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l retain -d 'Passed to the tool: leave terminated pods alone for this long (the tool\'s default: 10m)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l include -d 'Passed to the tool: suspect classes to delete as orphans (comma-separated or repeated)' -r -f -a "leaked-running\t'Pods still running whose batch ended more than --retain ago'
unregistered-running\t'Running pods with neither a ZooKeeper registration nor a batch row'
stuck-pending\t'Pods Pending for longer than the tool\'s --stuck-after'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l extra-arg -d 'An argument appended to the tool\'s command line, e.g. `--extra-arg=--ha-namespace=prod/kyuubi`. Repeatable. The whole command line is checked as the tool would check it; flags the manifests set themselves (namespaces, state paths, --deadline, --listen, leader election) cannot be changed this way' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l schedule -d 'cronjob: when to run, five cron fields or a macro such as @hourly [default: */10 * * * *]' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l deadline -d 'cronjob: the run\'s --deadline; the Job\'s `activeDeadlineSeconds` is two minutes longer [default: 5m]' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l replicas -d 'deployment: the number of replicas [default: 2, or 1 with --no-leader-elect]' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l lease-name -d 'deployment: the Lease\'s name (default: --name), in --namespace' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l port -d 'deployment, sidecar: the container port of /metrics, /healthz and /readyz [default: 9464]' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l service-account -d 'sidecar (required): the `ServiceAccount` Kyuubi\'s pod runs as; the sidecar shares it, so the pod RBAC is bound to it' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l print -d 'sidecar: what to print: `rbac` (for `kubectl apply -f -`), `patch` (a strategic merge patch adding the container to Kyuubi\'s workload, for `kubectl patch --patch-file`) or `container` (the container alone, for a chart\'s extra containers) [default: rbac]' -r -f -a "rbac\t'The `Role`s and `RoleBinding`s for Kyuubi\'s `ServiceAccount` (`kubectl apply -f -`)'
patch\t'A strategic merge patch for Kyuubi\'s `StatefulSet` or Deployment (`kubectl patch`)'
container\t'The container alone'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l workload -d 'sidecar, with --print patch: Kyuubi\'s workload, named in the patch\'s instructions [default: statefulset/kyuubi]' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l cpu-request -d 'The container\'s CPU request' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l cpu-limit -d 'The container\'s CPU limit (default: none, so the tool is never throttled)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l memory-request -d 'The container\'s memory request' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l memory-limit -d 'The container\'s memory limit. `watch` holds about 1-2 KB per candidate pod: 512Mi is ample for 100,000 of them' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l run-as-user -d 'The numeric user the container runs as (never root); it must be able to read the state files' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l run-as-group -d 'The numeric group the container runs as' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l color -d 'When to colour output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -s A -l all-namespaces -d 'Reap the pods of every namespace (a `ClusterRole` and `ClusterRoleBinding`)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l admission-guard -d 'cronjob, deployment: add a `ValidatingAdmissionPolicy` and its binding that deny the tool\'s `ServiceAccount` the DELETE of any pod that is not a Kyuubi driver pod (labels `kyuubi-unique-tag`, `spark-app-selector`, `spark-role=driver`): RBAC cannot filter by label. Kubernetes 1.30 or newer'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l leader-elect -d 'deployment: elect one leader among the replicas with a Lease (the default); only the leader deletes'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -l no-leader-elect -d 'deployment: no leader election (one replica only)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -s q -l quiet -d 'Print only errors (no summary line, no progress)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -s v -l verbose -d 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand manifests" -s V -l version -d 'Print version'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand completions" -l color -d 'When to colour output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand completions" -s q -l quiet -d 'Print only errors (no summary line, no progress)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand completions" -s v -l verbose -d 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand completions" -s V -l version -d 'Print version'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand help; and not __fish_seen_subcommand_from scan reap watch manifests completions help" -f -a "scan" -d 'Report which Kyuubi engine pods are orphans, suspects or kept (read-only)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand help; and not __fish_seen_subcommand_from scan reap watch manifests completions help" -f -a "reap" -d 'Delete the orphans: exactly the pods judged, behind the safety gate, with dry runs, a reviewable plan and an audit trail'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand help; and not __fish_seen_subcommand_from scan reap watch manifests completions help" -f -a "watch" -d 'Keep reaping as a service: pods are watched, state files followed, orphans deleted as their retain period ends; /metrics, /healthz and /readyz over HTTP; optional leader election among replicas'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand help; and not __fish_seen_subcommand_from scan reap watch manifests completions help" -f -a "manifests" -d 'Print the Kubernetes objects that deploy the tool (YAML, for `kubectl apply -f -`)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand help; and not __fish_seen_subcommand_from scan reap watch manifests completions help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand help; and not __fish_seen_subcommand_from scan reap watch manifests completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
