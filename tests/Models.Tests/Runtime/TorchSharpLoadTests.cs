using Sweep.Models.Runtime;
using TorchSharp;

namespace Sweep.Models.Tests.Runtime;

public class TorchSharpLoadTests
{
    [Fact]
    public void Native_library_loads_and_computes_a_matrix_product()
    {
        using var a = torch.tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        using var b = torch.tensor(new float[] { 5, 6, 7, 8 }, new long[] { 2, 2 });
        using var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }

    [Fact]
    public void Auto_device_is_cpu_without_cuda_and_cuda_request_fails_clearly()
    {
        Assert.Equal(DeviceType.CPU, TorchDevices.Resolve("auto").type);
        if (!torch.cuda.is_available())
        {
            var error = Assert.Throws<ArgumentException>(() => TorchDevices.Resolve("cuda"));
            Assert.Contains("--device cpu", error.Message);
        }
        Assert.Throws<ArgumentException>(() => TorchDevices.Resolve("tpu"));
    }
}
