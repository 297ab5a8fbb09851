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
}
