using ArchDsl.Compiler;
using ArchDsl.Runtime.Augment;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The in-place horizontal flip (<see cref="torch.Tensor.flip_samples_"/>, used by <see cref="HorizontalFlip"/> when the
/// pipeline may overwrite its input, issue 11) against the formula it replaces, <c>where(mask, flip(x, 3), x)</c>.
/// </summary>
public class AugmentFlipInPlaceTests
{
    public static TheoryData<ScalarType, bool, int> Cases()
    {
        var data = new TheoryData<ScalarType, bool, int>();
        foreach (var dtype in new[] { float32, bfloat16, float16, float64, uint8, int64, @bool })
            foreach (bool channelsLast in new[] { false, true })
                foreach (int w in new[] { 7, 6 })
                    data.Add(dtype, channelsLast, w);
        return data;
    }

    private static Tensor RandomBatch(ScalarType dtype, bool channelsLast, long[] shape)
    {
        var x = dtype switch
        {
            uint8 or int64 => randint(0, 256, shape, dtype),
            @bool => randint(0, 2, shape, uint8).to(@bool),
            _ => randn(shape, dtype),
        };
        return channelsLast ? x.contiguous(channels_last) : x;
    }

    private static bool[] Draws(ulong seed, int n, double p)
    {
        var random = new DeterministicRandom(seed);
        var mask = new bool[n];
        for (int i = 0; i < n; i++) mask[i] = random.NextDouble() < p;
        return mask;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void In_place_flip_equals_where_of_flip_bit_for_bit(ScalarType dtype, bool channelsLast, int w)
    {
        const int n = 8;
        manual_seed(11);
        foreach (double p in new[] { 0.0, 0.5, 1.0 })
            for (ulong seed = 1; seed <= 3; seed++)
            {
                using var scope = NewDisposeScope();
                var x = RandomBatch(dtype, channelsLast, [n, 3, 5, w]);
                Assert.Equal(channelsLast, !x.is_contiguous());
                var mask = Draws(seed, n, p);
                var expected = where(tensor(mask, [n, 1, 1, 1]), x.flip(3), x).bytes();
                var old = new HorizontalFlip(p).Apply(x, new AugmentContext(new DeterministicRandom(seed))).bytes();
                var y = new HorizontalFlip(p).Apply(x, new AugmentContext(new DeterministicRandom(seed), overwriteInput: true));
                Assert.Equal(expected, old);
                Assert.Equal(expected, y.bytes());
                Assert.Equal(expected, x.bytes()); // in place: the input holds the result
                if (p == 1.0) Assert.All(mask, Assert.True);
                if (p == 0.0) Assert.All(mask, Assert.False);
            }
    }

    [Fact]
    public void Flip_samples_flips_a_slice_of_a_batch_and_nothing_beside_it()
    {
        using var scope = NewDisposeScope();
        var all = randn(6, 2, 3, 5);
        var before = all.clone();
        var part = all.narrow(0, 2, 3); // samples 2..4: a dense view into the batch
        bool[] mask = [true, false, true];
        var expected = where(tensor(mask, [3, 1, 1, 1]), part.flip(3), part).bytes();
        part.flip_samples_(mask);
        Assert.Equal(expected, part.bytes());
        Assert.Equal(before.narrow(0, 0, 2).bytes(), all.narrow(0, 0, 2).bytes());
        Assert.Equal(before.narrow(0, 5, 1).bytes(), all.narrow(0, 5, 1).bytes());
    }

    [Fact]
    public void Flip_samples_refuses_what_it_cannot_flip_in_place_and_leaves_it_untouched()
    {
        using var scope = NewDisposeScope();
        bool[] yes = [true, true];
        var grad = randn([2, 1, 2, 3], requires_grad: true);
        Assert.Contains("requires grad", Assert.Throws<TorchException>(() => grad.flip_samples_(yes)).Message);
        var expanded = randn(1, 1, 2, 3).expand(2, 1, 2, 3);
        var before = expanded.bytes();
        Assert.Contains("overlap", Assert.Throws<TorchException>(() => expanded.flip_samples_(yes)).Message);
        Assert.Equal(before, expanded.bytes());
        Assert.Contains("mask has 1 entries for 2 samples", Assert.Throws<TorchException>(() => randn(2, 1, 2, 3).flip_samples_([true])).Message);
        Assert.Contains("[N, C, H, W]", Assert.Throws<TorchException>(() => randn(2, 3).flip_samples_(yes)).Message);
        Assert.False(grad.CanFlipSamplesInPlace);
        Assert.False(expanded.CanFlipSamplesInPlace);
    }

    [Fact]
    public void A_batch_that_cannot_be_flipped_in_place_takes_the_tensor_path_and_is_left_as_it_is()
    {
        using var scope = NewDisposeScope();
        var strided = randn(4, 2, 3, 10).narrow(3, 1, 6); // a column slice: neither contiguous nor channels-last
        Assert.False(strided.CanFlipSamplesInPlace);
        var before = strided.bytes();
        var mask = Draws(5, 4, 0.5);
        var expected = where(tensor(mask, [4, 1, 1, 1]), strided.flip(3), strided).bytes();
        var y = new HorizontalFlip(0.5).Apply(strided, new AugmentContext(new DeterministicRandom(5), overwriteInput: true));
        Assert.Equal(expected, y.bytes());
        Assert.Equal(before, strided.bytes());
    }

    [Fact]
    public void Autograd_refuses_a_graph_that_saved_the_batch_before_it_was_flipped()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 2, 3);
        var weight = randn([2, 1, 2, 3], requires_grad: true);
        var loss = (weight * x).sum(); // mul saves x for weight's gradient
        x.flip_samples_([true, false]);
        Assert.Contains("modified by an inplace operation", Assert.Throws<TorchException>(() => loss.backward()).Message);
    }

    [Fact]
    public void A_pipeline_allowed_to_overwrite_its_input_augments_exactly_as_one_that_is_not()
    {
        AugmentConfig[][] lists = [[new FlipConfig()], [new FlipConfig(), new CropConfig(2), new EraseConfig(0.5, 0.02, 0.33, 0.3, 3.3, "const")]];
        manual_seed(3);
        using var scope = NewDisposeScope();
        var x = randn(16, 3, 8, 8);
        foreach (var list in lists)
        {
            var pipeline = AugmentPipeline.FromTrain(list);
            for (long batch = 0; batch < 4; batch++)
            {
                var kept = pipeline.Apply(x, 9, 1, batch).bytes();
                var input = x.clone();
                Assert.Equal(kept, pipeline.Apply(input, 9, 1, batch, overwriteInput: true).bytes());
            }
        }
    }
}
