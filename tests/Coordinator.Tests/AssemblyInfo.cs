// The cluster tests rely on failure-detector timings and the process tests start several trainers: run one
// test at a time so that a loaded 2-core machine neither fakes an unreachable node nor starves a trial.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
