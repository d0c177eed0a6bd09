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
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l store -d 'A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only. Repeat for several Kyuubi instances' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l zk-snapshot -d 'ZooKeeper\'s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand scan" -l zk-log-dir -d 'ZooKeeper\'s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)' -r -F
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
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l zk-snapshot -d 'ZooKeeper\'s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l zk-log-dir -d 'ZooKeeper\'s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)' -r -F
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
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l plan -d 'Apply a reviewed plan: a `scan -o json` report, whose orphans are deleted with the uid and resourceVersion recorded in it (contexts matched by name). No state source is read' -r -F
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l max-plan-age -d 'Refuse a plan older than this' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l max-deletions -d 'Refuse the whole run (nothing deleted) when more orphans than this are found' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l max-orphan-ratio -d 'Refuse the whole run when orphans are more than this fraction of the candidate pods' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l qps -d 'DELETE requests per second per API server, on average (client-side rate limit)' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l burst -d 'DELETE requests allowed at once above the --qps rate' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l concurrency -d 'Deletes in flight at once, over all contexts' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l grace-period -d 'Grace period in seconds for pods that still run (suspects included with --include); default: the pod\'s own. Terminated pods are removed at once whatever this says' -r
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -l audit-log -d 'Append one JSON line per pod outcome to this file, flushed as each completes' -r -F
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
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s y -l yes -d 'Delete without asking (required when stdin is not a terminal)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s q -l quiet -d 'Print only errors (no summary line, no progress)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s v -l verbose -d 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand reap" -s V -l version -d 'Print version'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand completions" -l color -d 'When to colour output; `auto` colours a terminal unless NO_COLOR is set' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand completions" -s q -l quiet -d 'Print only errors (no summary line, no progress)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand completions" -s v -l verbose -d 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand completions" -s V -l version -d 'Print version'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand help; and not __fish_seen_subcommand_from scan reap completions help" -f -a "scan" -d 'Report which Kyuubi engine pods are orphans, suspects or kept (read-only)'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand help; and not __fish_seen_subcommand_from scan reap completions help" -f -a "reap" -d 'Delete the orphans: exactly the pods judged, behind the safety gate, with dry runs, a reviewable plan and an audit trail'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand help; and not __fish_seen_subcommand_from scan reap completions help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c kyuubi-reaper -n "__fish_kyuubi_reaper_using_subcommand help; and not __fish_seen_subcommand_from scan reap completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
