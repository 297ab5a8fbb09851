using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Torch.Tests;

public class ThreadPoolsTests : TorchTest
{
    /// <summary>
    /// Once the binding is loaded, the OpenMP/OpenBLAS waiting settings are in the native environment (where
    /// libgomp and OpenBLAS read them), and a value the user had set is the one in effect.
    /// </summary>
    [Fact]
    public void Loading_the_binding_puts_the_thread_pool_settings_into_the_native_environment()
    {
        using var t = zeros(1); // the native library is loaded by now
        var effective = ThreadPools.Effective().ToDictionary(e => e.Name, e => e.Value);
        foreach (var (name, value) in ThreadPools.Settings)
        {
            var user = Environment.GetEnvironmentVariable(name);
            if (!ThreadPools.Enabled)
            {
                // ARCHDSL_THREAD_ENV=default: the binding adds nothing; only what the user set is there.
                Assert.Equal(string.IsNullOrEmpty(user) ? null : user, effective.GetValueOrDefault(name));
                continue;
            }
            Assert.True(effective.ContainsKey(name), $"{name} is not in the native environment");
            Assert.Equal(user ?? value, effective[name]);
        }
    }

    /// <summary>
    /// The shim's own kernels (attention, fused GELU, depthwise convolution, …) spread their work with at::parallel_for,
    /// a header template that is parallel only where the shim is compiled for libtorch's OpenMP backend (-fopenmp,
    /// Runtime/native/CMakeLists.txt). Until 2026-12-01 it was not, and every own kernel ran on one thread whatever the
    /// thread count; the kernels' "same bits on 1 and 2 threads" tests could not see it.
    /// </summary>
    [Fact]
    public void The_own_kernels_parallel_for_runs_on_the_intra_op_threads()
    {
        var before = get_num_threads();
        try
        {
            set_num_threads(2);
            Assert.Equal(2, parallel_for_threads(8));
            // 3, which is no machine's core count here (2 on CI, 16 on the GPU machine): a shim bound to a second OpenMP
            // runtime (a build linking its own libgomp beside a PyTorch wheel's bundled one) would not see libtorch's
            // setting and would use that runtime's default, the core count.
            set_num_threads(3);
            Assert.Equal(3, parallel_for_threads(8));
            Assert.Equal(1, parallel_for_threads(1)); // one item: one thread
            set_num_threads(1);
            Assert.Equal(1, parallel_for_threads(8));
        }
        finally { set_num_threads(before); }
    }
}
