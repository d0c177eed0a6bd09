
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
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kyuubi-reaper;scan' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only. Repeat for several Kyuubi instances')
            [CompletionResult]::new('--zk-snapshot', '--zk-snapshot', [CompletionResultType]::ParameterName, 'ZooKeeper''s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable')
            [CompletionResult]::new('--zk-log-dir', '--zk-log-dir', [CompletionResultType]::ParameterName, 'ZooKeeper''s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)')
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
            [CompletionResult]::new('--zk-snapshot', '--zk-snapshot', [CompletionResultType]::ParameterName, 'ZooKeeper''s files: a snapshot file (raw, .gz or .snappy), or a data directory (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction logs are replayed after it. Read-only. Repeatable')
            [CompletionResult]::new('--zk-log-dir', '--zk-log-dir', [CompletionResultType]::ParameterName, 'ZooKeeper''s `dataLogDir`, when its transaction logs are kept apart from the snapshots: the logs after the snapshot are replayed from there (also after a single snapshot file)')
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
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'Apply a reviewed plan: a `scan -o json` report, whose orphans are deleted with the uid and resourceVersion recorded in it (contexts matched by name). No state source is read')
            [CompletionResult]::new('--max-plan-age', '--max-plan-age', [CompletionResultType]::ParameterName, 'Refuse a plan older than this')
            [CompletionResult]::new('--max-deletions', '--max-deletions', [CompletionResultType]::ParameterName, 'Refuse the whole run (nothing deleted) when more orphans than this are found')
            [CompletionResult]::new('--max-orphan-ratio', '--max-orphan-ratio', [CompletionResultType]::ParameterName, 'Refuse the whole run when orphans are more than this fraction of the candidate pods')
            [CompletionResult]::new('--qps', '--qps', [CompletionResultType]::ParameterName, 'DELETE requests per second per API server, on average (client-side rate limit)')
            [CompletionResult]::new('--burst', '--burst', [CompletionResultType]::ParameterName, 'DELETE requests allowed at once above the --qps rate')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Deletes in flight at once, over all contexts')
            [CompletionResult]::new('--grace-period', '--grace-period', [CompletionResultType]::ParameterName, 'Grace period in seconds for pods that still run (suspects included with --include); default: the pod''s own. Terminated pods are removed at once whatever this says')
            [CompletionResult]::new('--audit-log', '--audit-log', [CompletionResultType]::ParameterName, 'Append one JSON line per pod outcome to this file, flushed as each completes')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format: a table for people, json/yaml (schema `kyuubi-reaper.reap/v1`), or `name` (namespace/name of each pod deleted, one per line)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format: a table for people, json/yaml (schema `kyuubi-reaper.reap/v1`), or `name` (namespace/name of each pod deleted, one per line)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output; `auto` colours a terminal unless NO_COLOR is set')
            [CompletionResult]::new('--allow-empty-state', '--allow-empty-state', [CompletionResultType]::ParameterName, 'Judge pods even when the state sources know no engine at all (refused by default: usually the wrong store was given)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Scan every namespace')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Scan every namespace')
            [CompletionResult]::new('--keep-failed', '--keep-failed', [CompletionResultType]::ParameterName, 'Keep Failed pods for debugging; only Succeeded ones become orphans')
            [CompletionResult]::new('--require-record', '--require-record', [CompletionResultType]::ParameterName, 'Only pods with a terminal Kyuubi record (a batch row or `k8s_engine_info` row) may be orphans. Use it when not every Kyuubi instance''s store is given')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Delete without asking (required when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Delete without asking (required when stdin is not a terminal)')
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
