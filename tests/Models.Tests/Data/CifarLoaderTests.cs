using Sweep.Models.Data;
using Sweep.Models.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Data;

/// <summary>The loader on small files in the official layouts (docs/seed-formulas.md §1.1 split and preprocessing).</summary>
public class CifarLoaderTests
{
    // 5 files x 10 records: train split = first 40 images, val = images 40..49.
    private static readonly CifarSplitOptions SmallSplit = new() { TrainingSplitSize = 40, ValidationSize = 10, TestSize = null, DownloadIfEmpty = false };

    private static (byte[] Pixels, byte[] Labels) AllTrainingImages(int perFile)
    {
        var pixels = Enumerable.Range(1, 5).SelectMany(f => CifarFixtures.Pixels(f, perFile)).ToArray();
        var labels = Enumerable.Range(1, 5).SelectMany(f => CifarFixtures.Labels(f, perFile)).ToArray();
        return (pixels, labels);
    }

    [Fact]
    public void Binary_files_give_the_seed_split_minus_the_training_mean_image_in_NCHW()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteBinaryFolder(temp.Path, perFile: 10, testCount: 7);
        var data = CifarLoader.Load(temp.Path, SmallSplit);

        Assert.Equal(new long[] { 40, 3, 32, 32 }, data.TrainImages.shape);
        Assert.Equal(new long[] { 10, 3, 32, 32 }, data.ValImages.shape);
        Assert.Equal(new long[] { 7, 3, 32, 32 }, data.TestImages.shape);
        Assert.Equal(ScalarType.Float32, data.TrainImages.dtype);
        Assert.Equal(ScalarType.Int64, data.TrainLabels.dtype);

        var (pixels, labels) = AllTrainingImages(10);
        var mean = new double[3072];
        for (var i = 0; i < 40; i++)
            for (var p = 0; p < 3072; p++)
                mean[p] += pixels[i * 3072 + p] / 40.0;

        // Image 43 (val index 3), channel 1 (green plane), row 5, column 7: raw byte minus the mean pixel.
        var offset = 1 * 1024 + 5 * 32 + 7;
        var expectedVal = pixels[43 * 3072 + offset] - mean[offset];
        Assert.Equal(expectedVal, data.ValImages[3, 1, 5, 7].item<float>(), 4);
        var expectedTrain = pixels[12 * 3072 + 2 * 1024 + 31 * 32] - mean[2 * 1024 + 31 * 32];
        Assert.Equal(expectedTrain, data.TrainImages[12, 2, 31, 0].item<float>(), 4);
        var testPixels = CifarFixtures.Pixels(0, 7);
        Assert.Equal(testPixels[6 * 3072 + 100] - mean[100], data.TestImages[6, 0, 3, 4].item<float>(), 4);

        Assert.Equal(labels.Take(40).Select(l => (long)l), data.TrainLabels.data<long>().ToArray());
        Assert.Equal(labels.Skip(40).Select(l => (long)l), data.ValLabels.data<long>().ToArray());
        // The training split is centred: its mean image is zero.
        Assert.True(data.TrainImages.mean([0]).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Python_batches_in_python2_and_python3_protocol_2_layout_load_like_the_binary_files()
    {
        using var binary = new TempFolder();
        using var py2 = new TempFolder();
        using var py3 = new TempFolder();
        CifarFixtures.WriteBinaryFolder(binary.Path, 10, 7);
        CifarFixtures.WritePythonFolder(Path.Combine(py2.Path, CifarLoader.PythonFolderName), 10, 7, python3Style: false);
        CifarFixtures.WritePythonFolder(py3.Path, 10, 7, python3Style: true);
        var expected = CifarLoader.Load(binary.Path, SmallSplit);
        foreach (var folder in new[] { py2.Path, py3.Path })
        {
            var actual = CifarLoader.Load(folder, SmallSplit);
            Assert.True(actual.TrainImages.allclose(expected.TrainImages, rtol: 0, atol: 0));
            Assert.True(actual.ValImages.allclose(expected.ValImages, rtol: 0, atol: 0));
            Assert.True(actual.TestImages.allclose(expected.TestImages, rtol: 0, atol: 0));
            Assert.True(actual.TrainLabels.allclose(expected.TrainLabels, rtol: 0, atol: 0));
            Assert.True(actual.TestLabels.allclose(expected.TestLabels, rtol: 0, atol: 0));
        }
    }

    [Fact]
    public void A_batch_pickled_by_python_itself_is_read()
    {
        // Made once by Data/Fixtures/make_py3_batch.py: python 3's own pickler, protocol 2, bytes keys.
        var path = Path.Combine(AppContext.BaseDirectory, "Data", "Fixtures", "py3_protocol2_batch");
        var batch = CifarPickleFormat.Read(path);
        Assert.Equal(new byte[] { 3, 9, 0 }, batch.Labels);
        Assert.Equal(3 * 3072, batch.Pixels.Length);
        Assert.All(Enumerable.Range(0, batch.Pixels.Length), i => Assert.Equal((byte)((i * 7 + 3) % 256), batch.Pixels[i]));
    }

    [Fact]
    public void Unpickler_rejects_globals_it_does_not_know()
    {
        var pickle = CifarFixtures.Pickle(CifarFixtures.Pixels(1, 2), CifarFixtures.Labels(1, 2), "x", python3Style: false);
        var text = System.Text.Encoding.Latin1.GetString(pickle).Replace("numpy\ndtype\n", "os\nsystem\nxx");
        var error = Assert.Throws<CifarDataException>(() => CifarPickleFormat.Parse("evil_batch", System.Text.Encoding.Latin1.GetBytes(text)));
        Assert.Contains("evil_batch", error.Message);
        Assert.Contains("os.system", error.Message);
    }

    [Fact]
    public void Unpickler_rejects_truncated_files()
    {
        var pickle = CifarFixtures.Pickle(CifarFixtures.Pixels(1, 2), CifarFixtures.Labels(1, 2), "x", python3Style: false);
        var error = Assert.Throws<CifarDataException>(() => CifarPickleFormat.Parse("short_batch", pickle[..(pickle.Length / 2)]));
        Assert.Contains("short_batch", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Num_train_takes_the_first_k_images_as_a_view_of_one_cached_copy()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteBinaryFolder(temp.Path, 10, 7);
        var full = CifarLoader.Load(temp.Path, SmallSplit);
        var again = CifarLoader.Load(temp.Path, SmallSplit);
        var first5 = CifarLoader.Load(temp.Path, SmallSplit with { NumTrain = 5 });

        Assert.Same(full, again);
        Assert.Equal(new long[] { 5, 3, 32, 32 }, first5.TrainImages.shape);
        Assert.Same(full.ValImages, first5.ValImages);
        // Same storage: a write through the full tensor shows in the subset (restored afterwards).
        var original = full.TrainImages[2, 1, 0, 0].item<float>();
        full.TrainImages[2, 1, 0, 0].fill_(12345f);
        Assert.Equal(12345f, first5.TrainImages[2, 1, 0, 0].item<float>());
        full.TrainImages[2, 1, 0, 0].fill_(original);
        // The mean image stays the one of the whole training split, as the seeds' X_train[:k].
        Assert.True(first5.TrainImages.allclose(full.TrainImages.narrow(0, 0, 5), rtol: 0, atol: 0));
        Assert.Equal(5, first5.NumTrain);
    }

    [Fact]
    public void Per_channel_normalization_scales_to_unit_range_then_standardizes_per_channel()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteBinaryFolder(temp.Path, 10, 7);
        var data = CifarLoader.Load(temp.Path, SmallSplit with { Normalization = CifarNormalization.PerChannel });
        var raw = CifarFixtures.Pixels(1, 10)[3 * 3072 + 2 * 1024 + 33];
        var expected = (raw / 255.0 - 0.4465) / 0.2010;
        Assert.Equal(expected, data.TrainImages[3, 2, 1, 1].item<float>(), 4);
    }

    [Fact]
    public void The_cache_keeps_one_preprocessed_copy_per_folder()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteBinaryFolder(temp.Path, 10, 7);
        var meanImage = CifarLoader.Load(temp.Path, SmallSplit);
        var perChannel = CifarLoader.Load(temp.Path, SmallSplit with { Normalization = CifarNormalization.PerChannel });
        Assert.False(meanImage.TrainImages.allclose(perChannel.TrainImages));
        Assert.True(CifarLoader.IsCached(temp.Path, SmallSplit with { Normalization = CifarNormalization.PerChannel }));
        Assert.False(CifarLoader.IsCached(temp.Path, SmallSplit));
        Assert.Same(perChannel, CifarLoader.Load(temp.Path, SmallSplit with { Normalization = CifarNormalization.PerChannel }));
        Assert.NotSame(meanImage, CifarLoader.Load(temp.Path, SmallSplit));
        // The replaced dataset stays usable for whoever still holds it.
        Assert.Equal(40, meanImage.TrainImages.shape[0]);
    }

    [Fact]
    public void Loaded_tensors_survive_the_dispose_scope_of_the_first_caller()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteBinaryFolder(temp.Path, 10, 7);
        CifarDataset data;
        using (NewDisposeScope())
            data = CifarLoader.Load(temp.Path, SmallSplit with { NumTrain = 20 });
        Assert.False(data.TrainImages.IsInvalid);
        Assert.Equal(20, data.TrainImages.shape[0]);
        Assert.False(CifarLoader.Load(temp.Path, SmallSplit).ValImages.IsInvalid);
    }

    [Fact]
    public void A_file_whose_size_is_not_whole_records_is_rejected_naming_the_file()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteBinaryFolder(temp.Path, 10, 7);
        var file = Path.Combine(temp.Path, "data_batch_2.bin");
        File.WriteAllBytes(file, File.ReadAllBytes(file)[..^5]);
        var error = Assert.Throws<CifarDataException>(() => CifarLoader.Load(temp.Path, SmallSplit));
        Assert.Contains(file, error.Message);
        Assert.Contains("3073", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_label_above_9_is_rejected_naming_the_file()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteBinaryFolder(temp.Path, 10, 7);
        var file = Path.Combine(temp.Path, "test_batch.bin");
        var bytes = File.ReadAllBytes(file);
        bytes[2 * 3073] = 10;
        File.WriteAllBytes(file, bytes);
        var error = Assert.Throws<CifarDataException>(() => CifarLoader.Load(temp.Path, SmallSplit));
        Assert.Contains(file, error.Message);
        Assert.Contains("label 10", error.Message);
    }

    [Fact]
    public void A_missing_batch_file_is_named_and_a_failed_load_is_not_cached()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteBinaryFolder(temp.Path, 10, 7);
        var file = Path.Combine(temp.Path, "data_batch_3.bin");
        var content = File.ReadAllBytes(file);
        File.Delete(file);
        var error = Assert.Throws<CifarDataException>(() => CifarLoader.Load(temp.Path, SmallSplit));
        Assert.Contains(file, error.Message);
        Assert.Contains("missing", error.Message);
        File.WriteAllBytes(file, content);
        Assert.Equal(40, CifarLoader.Load(temp.Path, SmallSplit).NumTrain);
    }

    [Fact]
    public void Too_few_images_for_the_split_and_unknown_folders_fail_clearly()
    {
        using var temp = new TempFolder();
        CifarFixtures.WriteBinaryFolder(temp.Path, 10, 7);
        var tooFew = Assert.Throws<CifarDataException>(() => CifarLoader.Load(temp.Path, new CifarSplitOptions { DownloadIfEmpty = false }));
        Assert.Contains("49000 train + 1000 val", tooFew.Message);

        var missing = Path.Combine(temp.Path, "nope");
        Assert.Contains("does not exist", Assert.Throws<CifarDataException>(() => CifarLoader.Load(missing, SmallSplit)).Message);

        using var other = new TempFolder();
        File.WriteAllText(Path.Combine(other.Path, "notes.txt"), "not cifar");
        Assert.Contains("neither", Assert.Throws<CifarDataException>(() => CifarLoader.Load(other.Path, SmallSplit)).Message);

        using var empty = new TempFolder();
        Assert.Contains("downloading is off", Assert.Throws<CifarDataException>(() => CifarLoader.Load(empty.Path, SmallSplit)).Message);
    }
}
