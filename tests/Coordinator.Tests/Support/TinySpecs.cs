namespace Sweep.Coordinator.Tests.Support;

/// <summary>
/// A real sweep small enough for a test: two stages of short trials (default 1 epoch on 400 images); <c>extra</c> lines
/// (e.g. a pruning block) go at the end.
/// </summary>
public static class TinySpecs
{
    public static string Text(string name, string dataDirectory, string family = "three_layer_convnet", int numTrain = 400, int epochs = 1,
        int firstStage = 4, int secondStage = 2, string extra = "") => $$"""
        name = "{{name}}"
        seed = 5
        data {
          directory = "{{dataDirectory.Replace("\\", "/")}}"
          num_train = {{numTrain}}
        }
        model {
          family = {{family}}
          {{(family == "fc" ? "hidden_dims = [50]" : "num_filters = 8\n  filter_size = 5\n  hidden_dim = 50")}}
        }
        training {
          update_rule = adam
          batch_size = 50
        }
        space {
          learning_rate { type = float, low = 1e-4, high = 1e-2, log = true }
          weight_scale  { type = float, low = 1e-3, high = 1e-1, log = true }
        }
        stages = [
          { count = {{firstStage}}, epochs = {{epochs}}, num_train = {{numTrain}} }
          { count = {{secondStage}}, epochs = {{epochs}}, num_train = {{numTrain}}, top_k = 2 }
        ]
        max_retries = 1
        trial_timeout = 10m
        {{extra}}
        """;
}
