using ArchDsl.Torch;
using static ArchDsl.Torch.torch.distributed;

namespace ArchDsl.TestSupport;

/// <summary>Data-parallel ranks as threads of the test process, on loopback: each has its own TCPStore client and Gloo group, as a process would.</summary>
public static class Ranks
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <paramref name="body"/> as ranks 0..<paramref name="world"/>-1 and returns their results in rank order.</summary>
    public static T[] Run<T>(int world, Func<ProcessGroup, T> body)
    {
        using var master = new TCPStore("127.0.0.1", 0, world, is_master: true, Timeout, wait_for_workers: false);
        int port = master.port;
        var tasks = Enumerable.Range(0, world).Select(rank => Task.Factory.StartNew(() =>
        {
            using var store = rank == 0 ? null : new TCPStore("127.0.0.1", port, world, is_master: false, Timeout);
            using var pg = new ProcessGroupGloo(store ?? master, rank, world, Timeout, hostname: "127.0.0.1");
            return body(pg);
        }, TaskCreationOptions.LongRunning)).ToArray();
        if (!Task.WaitAll(tasks, TimeSpan.FromSeconds(90))) throw new TimeoutException("the ranks did not finish within 90 s");
        return tasks.Select(t => t.Result).ToArray();
    }
}
