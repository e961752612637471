using Sweep.Models.Data;
using TorchSharp;
using Sweep.Models.Tests.TestSupport;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Data;

/// <summary>
/// The device copy of the data set: made once per process and device, shared by every trial there,
/// and a num_train view narrows the shared copy instead of making its own. The meta device stands in for
/// a GPU: tensors move there with their shapes and dtypes but no storage.
/// </summary>
public class CifarDatasetDeviceTests
{
    private static CifarDataset Full() => CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default);

    [Fact]
    public void On_the_device_it_is_on_a_data_set_is_itself()
    {
        var data = Full();
        Assert.Same(data, data.On(CPU));
        Assert.Equal(DeviceType.CPU, data.Device.type);
    }

    [Fact]
    public void The_copy_on_another_device_is_made_once_and_shared()
    {
        var data = Full();
        var first = data.On(META);
        var second = data.On(torch.device("meta"));
        Assert.Same(first, second);
        Assert.Equal(DeviceType.META, first.TrainImages.device.type);
        Assert.Equal(DeviceType.META, first.ValLabels.device.type);
        Assert.Equal(data.TrainImages.shape, first.TrainImages.shape);
        Assert.Equal(data.TestImages.shape, first.TestImages.shape);
        Assert.Equal(ScalarType.Float32, first.TrainImages.dtype);
        Assert.Equal(ScalarType.Int64, first.TrainLabels.dtype);
    }

    [Fact]
    public void A_num_train_view_narrows_the_shared_device_copy()
    {
        var full = Full();
        var view = CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default with { NumTrain = 300 });
        var onDevice = view.On(META);
        Assert.Equal(300, onDevice.NumTrain);
        Assert.Equal(DeviceType.META, onDevice.TrainImages.device.type);
        // The val split is the full copy's own tensor: no second copy was made for the view.
        Assert.Same(full.On(META).ValImages, onDevice.ValImages);
        Assert.Equal(view.Options.NumTrain, onDevice.Options.NumTrain);
    }
}
