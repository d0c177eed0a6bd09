
use builtin;
use str;

set edit:completion:arg-completer[kyuubi-reaper] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'kyuubi-reaper'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'kyuubi-reaper'= {
            cand --color 'When to colour output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only errors (no summary line, no progress)'
            cand --quiet 'Print only errors (no summary line, no progress)'
            cand -v 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
            cand --verbose 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand scan 'Report which Kyuubi engine pods are orphans, suspects or kept (read-only)'
            cand reap 'Delete the orphans: exactly the pods judged, behind the safety gate, with dry runs, a reviewable plan and an audit trail'
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kyuubi-reaper;scan'= {
            cand --store 'A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only. Repeat for several Kyuubi instances'
            cand --zk-snapshot 'ZooKeeper''s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable'
            cand --zk-log-dir 'ZooKeeper''s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)'
            cand --ha-namespace 'Kyuubi''s `kyuubi.ha.namespace` (with the ZooKeeper chroot in front, if any: `chroot/kyuubi`): engine registrations are read from `/<NS>_<version>_<LEVEL>_<TYPE>`. Repeatable'
            cand --max-state-age 'Refuse a ZooKeeper state whose last transaction is older than this: a stale state could hide engines that registered since'
            cand --pods 'Read pods from a file saved with `kubectl get pods -o json` (or `-o yaml`) instead of a cluster; `-` reads standard input'
            cand --kubeconfig 'The kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config)'
            cand --context 'A kubeconfig context to list pods from (default: the current context). Repeatable'
            cand -n 'A namespace to scan (default: the context''s namespace; with --pods, every namespace in the file). Repeatable'
            cand --namespace 'A namespace to scan (default: the context''s namespace; with --pods, every namespace in the file). Repeatable'
            cand -l 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`'
            cand --selector 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`'
            cand --max-pod-file-size 'The largest pod file read (--pods): a larger file, or a pipe that goes on past it, is refused. JSON is read item by item whatever its size; YAML is held whole while it is read. Bytes, or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB'
            cand --retain 'Leave terminated pods alone for this long (Kyuubi''s own 5m retain period, its 1m check interval, and a margin for clock skew)'
            cand --include 'Suspect classes to treat as orphans: leaked-running, unregistered-running, stuck-pending (comma-separated or repeated)'
            cand --stuck-after 'A Pending pod older than this is a `stuck-pending` suspect'
            cand --engine-start-timeout 'How long an engine may take to register before a running pod without a registration is an `unregistered-running` suspect (needs a ZooKeeper source)'
            cand --request-timeout 'Connect timeout, and the longest one request may take to answer completely'
            cand --max-retries 'Retries of a request that timed out, lost its connection, or got 429 or 5xx (with exponential backoff and full jitter; Retry-After honoured up to 30s)'
            cand --deadline 'The whole run''s budget for API requests; when it passes, no request is started or retried'
            cand --max-page-size 'The largest answer read from the API server (a page of 500 pods is a few MB): a bigger one, or one that never ends, fails the request. Units as for --max-pod-file-size'
            cand -o 'Output format: a table for people, json/yaml for machines, or `name` (namespace/name of each orphan, one per line)'
            cand --output 'Output format: a table for people, json/yaml for machines, or `name` (namespace/name of each orphan, one per line)'
            cand --color 'When to colour output; `auto` colours a terminal unless NO_COLOR is set'
            cand --allow-empty-state 'Judge pods even when the state sources know no engine at all (refused by default: usually the wrong store was given)'
            cand -A 'Scan every namespace'
            cand --all-namespaces 'Scan every namespace'
            cand --keep-failed 'Keep Failed pods for debugging; only Succeeded ones become orphans'
            cand --require-record 'Only pods with a terminal Kyuubi record (a batch row or `k8s_engine_info` row) may be orphans. Use it when not every Kyuubi instance''s store is given'
            cand --fail-on-orphans 'Exit with code 1 when orphans are found'
            cand --fail-on-suspects 'Exit with code 1 when suspects are found'
            cand -q 'Print only errors (no summary line, no progress)'
            cand --quiet 'Print only errors (no summary line, no progress)'
            cand -v 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
            cand --verbose 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'kyuubi-reaper;reap'= {
            cand --store 'A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only. Repeat for several Kyuubi instances'
            cand --zk-snapshot 'ZooKeeper''s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable'
            cand --zk-log-dir 'ZooKeeper''s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)'
            cand --ha-namespace 'Kyuubi''s `kyuubi.ha.namespace` (with the ZooKeeper chroot in front, if any: `chroot/kyuubi`): engine registrations are read from `/<NS>_<version>_<LEVEL>_<TYPE>`. Repeatable'
            cand --max-state-age 'Refuse a ZooKeeper state whose last transaction is older than this: a stale state could hide engines that registered since'
            cand --pods 'Read pods from a file saved with `kubectl get pods -o json` (or `-o yaml`) instead of a cluster; `-` reads standard input'
            cand --kubeconfig 'The kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config)'
            cand --context 'A kubeconfig context to list pods from (default: the current context). Repeatable'
            cand -n 'A namespace to scan (default: the context''s namespace; with --pods, every namespace in the file). Repeatable'
            cand --namespace 'A namespace to scan (default: the context''s namespace; with --pods, every namespace in the file). Repeatable'
            cand -l 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`'
            cand --selector 'An extra label selector, ANDed with the built-in `kyuubi-unique-tag,spark-app-selector,spark-role=driver`'
            cand --max-pod-file-size 'The largest pod file read (--pods): a larger file, or a pipe that goes on past it, is refused. JSON is read item by item whatever its size; YAML is held whole while it is read. Bytes, or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB'
            cand --retain 'Leave terminated pods alone for this long (Kyuubi''s own 5m retain period, its 1m check interval, and a margin for clock skew)'
            cand --include 'Suspect classes to treat as orphans: leaked-running, unregistered-running, stuck-pending (comma-separated or repeated)'
            cand --stuck-after 'A Pending pod older than this is a `stuck-pending` suspect'
            cand --engine-start-timeout 'How long an engine may take to register before a running pod without a registration is an `unregistered-running` suspect (needs a ZooKeeper source)'
            cand --request-timeout 'Connect timeout, and the longest one request may take to answer completely'
            cand --max-retries 'Retries of a request that timed out, lost its connection, or got 429 or 5xx (with exponential backoff and full jitter; Retry-After honoured up to 30s)'
            cand --deadline 'The whole run''s budget for API requests; when it passes, no request is started or retried'
            cand --max-page-size 'The largest answer read from the API server (a page of 500 pods is a few MB): a bigger one, or one that never ends, fails the request. Units as for --max-pod-file-size'
            cand --dry-run 'Show what would be deleted without deleting: `client` (the default when given bare) sends nothing; `server` sends every DELETE with `dryRun=All`, which also proves RBAC and admission, and removes nothing'
            cand --plan 'Apply a reviewed plan: a `scan -o json` report, whose orphans are deleted with the uid and resourceVersion recorded in it (contexts matched by name). No state source is read'
            cand --max-plan-age 'Refuse a plan older than this'
            cand --max-deletions 'Refuse the whole run (nothing deleted) when more orphans than this are found'
            cand --max-orphan-ratio 'Refuse the whole run when orphans are more than this fraction of the candidate pods'
            cand --qps 'DELETE requests per second per API server, on average (client-side rate limit)'
            cand --burst 'DELETE requests allowed at once above the --qps rate'
            cand --concurrency 'Deletes in flight at once, over all contexts'
            cand --grace-period 'Grace period in seconds for pods that still run (suspects included with --include); default: the pod''s own. Terminated pods are removed at once whatever this says'
            cand --audit-log 'Append one JSON line per pod outcome to this file, flushed as each completes'
            cand -o 'Report format: a table for people, json/yaml (schema `kyuubi-reaper.reap/v1`), or `name` (namespace/name of each pod deleted, one per line)'
            cand --output 'Report format: a table for people, json/yaml (schema `kyuubi-reaper.reap/v1`), or `name` (namespace/name of each pod deleted, one per line)'
            cand --color 'When to colour output; `auto` colours a terminal unless NO_COLOR is set'
            cand --allow-empty-state 'Judge pods even when the state sources know no engine at all (refused by default: usually the wrong store was given)'
            cand -A 'Scan every namespace'
            cand --all-namespaces 'Scan every namespace'
            cand --keep-failed 'Keep Failed pods for debugging; only Succeeded ones become orphans'
            cand --require-record 'Only pods with a terminal Kyuubi record (a batch row or `k8s_engine_info` row) may be orphans. Use it when not every Kyuubi instance''s store is given'
            cand -y 'Delete without asking (required when stdin is not a terminal)'
            cand --yes 'Delete without asking (required when stdin is not a terminal)'
            cand -q 'Print only errors (no summary line, no progress)'
            cand --quiet 'Print only errors (no summary line, no progress)'
            cand -v 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
            cand --verbose 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'kyuubi-reaper;completions'= {
            cand --color 'When to colour output; `auto` colours a terminal unless NO_COLOR is set'
            cand -q 'Print only errors (no summary line, no progress)'
            cand --quiet 'Print only errors (no summary line, no progress)'
            cand -v 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
            cand --verbose 'Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'kyuubi-reaper;help'= {
            cand scan 'Report which Kyuubi engine pods are orphans, suspects or kept (read-only)'
            cand reap 'Delete the orphans: exactly the pods judged, behind the safety gate, with dry runs, a reviewable plan and an audit trail'
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'kyuubi-reaper;help;scan'= {
        }
        &'kyuubi-reaper;help;reap'= {
        }
        &'kyuubi-reaper;help;completions'= {
        }
        &'kyuubi-reaper;help;help'= {
        }
    ]
    $completions[$command]
}
