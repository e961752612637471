// One test at a time: libtorch already uses every core for each test. (The native test-host crashes once
// seen in CI came from the layers' use of TorchSharp under GC pressure; Stress/LayerStressTests covers that.)
[assembly: CollectionBehavior(DisableTestParallelization = true)]
