using System.Diagnostics;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using static ArchDsl.Torch.torch.distributed;
using ArchDsl.TestSupport;

namespace ArchDsl.Torch.Tests;

/// <summary>
/// The c10d binding on loopback: two ranks as two threads of this process (a TCPStore and a Gloo group each, as two
/// processes would have; c10d does not care which), the collectives' results, the Reducer's averaged gradients, the
/// differentiable all-reduce's gradient, and the errors a rendezvous can end in.
/// </summary>
public class DistributedTests : TorchTest
{
    static readonly TimeSpan Timeout = Ranks.Timeout;
    static T[] OnRanks<T>(int world, Func<ProcessGroup, T> body) => Ranks.Run(world, body);

    [Fact]
    public void C10d_is_bound_against_libtorch_1_x_and_where_not_bound_every_call_says_why()
    {
        // Against 2.x the shim binds c10d only if CMake's test-compile of its 2.x binding passed (native/src/c10d_bound.h).
        var version = torch.__version__;
        bool v1 = int.Parse(version.Split('.')[0], System.Globalization.CultureInfo.InvariantCulture) < 2;
        if (v1) Assert.True(is_available());
        if (is_available()) { check_available(); return; }
        var e = Assert.Throws<TorchException>(check_available);
        Assert.Contains("data-parallel training (c10d) is ", e.Message);
        Assert.Contains($"this libtorch is {version}", e.Message);
        Assert.Throws<TorchException>(() => new TCPStore("127.0.0.1", 0, 1, true, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Collectives_give_every_rank_the_reduced_broadcast_and_gathered_values()
    {
        var results = OnRanks(2, pg =>
        {
            int r = pg.rank;
            using var sum = tensor(new float[] { r + 1, 10 * (r + 1) });
            all_reduce(sum, pg);
            using var max = tensor(new float[] { r });
            all_reduce(max, pg, ReduceOp.MAX);
            using var b = tensor(new float[] { r == 1 ? 7 : -1, r == 1 ? 8 : -1 });
            broadcast(b, src: 1, pg);
            var gathered = new[] { zeros(3), zeros(3) };
            using var mine = tensor(new float[] { r, r, r });
            all_gather(gathered, mine, pg);
            barrier(pg, Timeout);
            return (pg.size, sum: sum.data<float>(), max: max.data<float>(), b: b.data<float>(), g: gathered.SelectMany(t => t.data<float>()).ToArray());
        });
        foreach (var x in results)
        {
            Assert.Equal(2, x.size);
            Assert.Equal(new float[] { 3, 30 }, x.sum);
            Assert.Equal(new float[] { 1 }, x.max);
            Assert.Equal(new float[] { 7, 8 }, x.b);
            Assert.Equal(new float[] { 0, 0, 0, 1, 1, 1 }, x.g);
        }
    }

    [Fact]
    public void Store_set_get_add_between_master_and_client()
    {
        using var master = new TCPStore("127.0.0.1", 0, 2, is_master: true, Timeout, wait_for_workers: false);
        using var client = new TCPStore("127.0.0.1", master.port, 2, is_master: false, Timeout);
        client.set("k", [1, 2, 3]);
        Assert.Equal(new byte[] { 1, 2, 3 }, master.get("k"));
        Assert.Equal(5, master.add("n", 5));
        Assert.Equal(7, client.add("n", 2));
        Assert.True(master.check("k"));
        Assert.False(master.check("absent"));
    }

    /// <summary>
    /// Two ranks with the same Linear and different inputs: after one backward armed by the Reducer, both hold the
    /// mean of the two single-rank gradients (computed here without any group) — what DDP gives.
    /// </summary>
    [Fact]
    public void Reducer_leaves_the_average_of_the_ranks_gradients_in_every_rank()
    {
        Tensor[] LocalGrads(int rank, Func<torch.nn.Linear, Tensor[], Tensor[]>? arm = null)
        {
            // The same weights on every rank without torch's global generator: the ranks are threads, and a seed set
            // here could be drawn from by the other rank (or another test) before the Linear is made.
            var lin = new torch.nn.Linear(4, 3);
            var ps = lin.parameters().Cast<Tensor>().ToArray();
            using (no_grad())
                for (int k = 0; k < ps.Length; k++)
                {
                    using var init = Data(7 + k, ps[k].shape);
                    ps[k].copy_(init);
                }
            using var x = Data(100 + rank, 5, 4);
            var y = lin.forward(x).pow(2).sum();
            arm?.Invoke(lin, [y]);
            y.backward();
            return ps.Select(p => p.grad!.clone()).ToArray();
        }
        var expected = Enumerable.Range(0, 2).Select(r => LocalGrads(r)).ToArray();
        var results = OnRanks(2, pg => LocalGrads(pg.rank, (lin, outs) =>
        {
            var reducer = new Reducer(lin.parameters().Cast<Tensor>().ToArray(), pg);
            Assert.Equal([0, 1], reducer.buckets.SelectMany(b => b).Order());
            reducer.prepare_for_backward(outs);
            return outs;
        }));
        for (int i = 0; i < expected[0].Length; i++)
        {
            using var mean = expected[0][i].add(expected[1][i]).mul(0.5);
            AssertClose(mean, results[0][i], 1e-6, $"rank 0 parameter {i}");
            AssertClose(mean, results[1][i], 1e-6, $"rank 1 parameter {i}");
        }
    }

    [Fact]
    public void Differentiable_all_reduce_sums_values_and_gradients()
    {
        var results = OnRanks(2, pg =>
        {
            using var x = tensor(new float[] { pg.rank + 1f, 2f }, requires_grad: true);
            using var s = distributed.nn.functional.all_reduce(x, pg, Timeout);
            using var weights = tensor(new float[] { pg.rank + 1f, 1f });
            s.mul(weights).sum().backward();
            return (s.data<float>(), x.grad!.data<float>());
        });
        // Σ x = [3, 4]; the loss of rank r is Σ w_r·s, so d(total loss)/dx = Σ_r w_r = [3, 2] on every rank.
        foreach (var (s, g) in results)
        {
            Assert.Equal(new float[] { 3, 4 }, s);
            Assert.Equal(new float[] { 3, 2 }, g);
        }
    }

    [Fact]
    public void A_second_master_on_a_port_in_use_fails_with_the_reason()
    {
        using var first = new TCPStore("127.0.0.1", 0, 1, is_master: true, Timeout, wait_for_workers: false);
        var e = Assert.Throws<TorchException>(() => new TCPStore("127.0.0.1", first.port, 1, is_master: true, Timeout, wait_for_workers: false));
        Assert.Contains("address already in use", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_client_with_no_master_gives_up_after_its_timeout()
    {
        // A port held closed for the whole test: one that was only free a moment ago may meanwhile be another test's store.
        using var closed = new ClosedPort();
        var taken = Assert.Throws<TorchException>(() => new TCPStore("127.0.0.1", closed.Port, 1, is_master: true, Timeout, wait_for_workers: false));
        Assert.Contains("address already in use", taken.Message, StringComparison.OrdinalIgnoreCase); // nobody can listen there
        var watch = Stopwatch.StartNew();
        Assert.Throws<TorchException>(() => new TCPStore("127.0.0.1", closed.Port, 2, is_master: false, TimeSpan.FromSeconds(2)));
        // It waits about its 2 s timeout rather than failing at the first refused connection; the upper bound is only a hang guard.
        Assert.InRange(watch.Elapsed.TotalSeconds, 1, 120);
    }

    /// <summary>A rank whose peer has gone (its group closed) gets an error from its next collective, not a hang.</summary>
    [Fact]
    public void A_collective_whose_peer_left_fails_within_the_timeout()
    {
        var watch = Stopwatch.StartNew();
        var results = OnRanks(2, pg =>
        {
            using var t = ones(4);
            all_reduce(t, pg);
            if (pg.rank == 1) { pg.Dispose(); return "left"; }
            Thread.Sleep(500);
            try { all_reduce(t, pg, timeout: TimeSpan.FromSeconds(5)); return "no error"; }
            catch (TorchException e) { return e.Message; }
        });
        Assert.Equal("left", results[1]);
        Assert.NotEqual("no error", results[0]);
        Assert.InRange(watch.Elapsed.TotalSeconds, 0, 90); // a hang guard (Ranks.Run's own limit), not a speed target
    }
}
