// One test at a time: libtorch already uses every core for each test, and one CI run in about seven
// had the test host crash natively while classes ran concurrently (cause not yet isolated).
[assembly: CollectionBehavior(DisableTestParallelization = true)]
