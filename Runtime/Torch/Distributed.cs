using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

public static partial class torch
{
    /// <summary>
    /// libtorch's distributed engine (c10d), named as PyTorch's <c>torch.distributed</c>: a <see cref="TCPStore"/>
    /// rendezvous, process groups (<see cref="ProcessGroupGloo"/> on CPU, <see cref="ProcessGroupNCCL"/> where the
    /// libtorch has CUDA and NCCL), the collectives with timeouts, and c10d's <see cref="Reducer"/> (DDP's buckets).
    /// Every call blocks until its collective completes or fails; a timeout or a peer that went away (Gloo sees the
    /// closed connection) throws <see cref="TorchException"/> with c10d's message.
    /// </summary>
    public static class distributed
    {
        /// <summary>
        /// torch.distributed.is_available(): whether this shim binds c10d. It does against libtorch 1.x only; built against
        /// a libtorch 2.x every distributed call throws <see cref="TorchException"/> saying so (native/src/c10d_bound.h).
        /// </summary>
        public static bool is_available() => Native.ats_distributed_check() == 0;

        /// <summary>Throws when <see cref="is_available"/> is false.</summary>
        /// <exception cref="TorchException">this shim has no c10d binding; the message names the libtorch version and what to do.</exception>
        public static void check_available() => Native.Check(Native.ats_distributed_check());

        /// <summary>torch.distributed.ReduceOp (the values the shim maps to c10d::ReduceOp).</summary>
        public enum ReduceOp { SUM = 0, PRODUCT = 1, MIN = 2, MAX = 3 }

        /// <summary>
        /// c10d's TCP key-value store, the rendezvous of <c>init_process_group(init_method="tcp://…")</c> and
        /// torchrun: the master listens on <paramref name="host"/>:<paramref name="port"/> (0: a free port, see
        /// <see cref="port"/>), the others connect, retrying until <paramref name="timeout"/>.
        /// </summary>
        /// <exception cref="TorchException">the port is in use (master), or no master answered within the timeout.</exception>
        public sealed class TCPStore : IDisposable
        {
            internal IntPtr Handle { get; private set; }

            public TCPStore(string host, int port, int world_size, bool is_master, TimeSpan timeout, bool wait_for_workers = true) =>
                Handle = Native.Check(Native.ats_tcpstore_new(host, port, world_size, is_master ? 1 : 0,
                    (long)timeout.TotalMilliseconds, wait_for_workers ? 1 : 0));

            /// <summary>The port the store listens on (the master's, the one chosen when 0 was asked for).</summary>
            public int port => Native.ats_tcpstore_port(Live);

            public unsafe void set(string key, byte[] value)
            {
                fixed (byte* p = value) Native.Check(Native.ats_store_set(Live, key, p, value.Length));
            }

            /// <summary>The value of <paramref name="key"/>, waiting (up to the store's timeout) until some rank sets it.</summary>
            public unsafe byte[] get(string key)
            {
                byte* p; long n;
                Native.Check(Native.ats_store_get(Live, key, &p, &n));
                try { return new ReadOnlySpan<byte>(p, (int)n).ToArray(); }
                finally { Native.ats_store_buffer_free(p); }
            }

            /// <summary>Adds <paramref name="amount"/> to the counter <paramref name="key"/> (0 when new) and returns the sum.</summary>
            public unsafe long add(string key, long amount)
            {
                long r;
                Native.Check(Native.ats_store_add(Live, key, amount, &r));
                return r;
            }

            /// <summary>Waits until <paramref name="key"/> is set. <exception cref="TorchException">not within <paramref name="timeout"/>.</exception></summary>
            public void wait(string key, TimeSpan timeout) => Native.Check(Native.ats_store_wait(Live, key, (long)timeout.TotalMilliseconds));

            public bool check(string key) => Native.Check(Native.ats_store_check(Live, key)) == 1;

            IntPtr Live => Handle != IntPtr.Zero ? Handle : throw new ObjectDisposedException(nameof(TCPStore));

            public void Dispose()
            {
                if (Handle == IntPtr.Zero) return;
                Native.ats_tcpstore_free(Handle);
                Handle = IntPtr.Zero;
            }
        }

        /// <summary>A c10d process group: <see cref="size"/> ranks that run the same collectives in the same order.</summary>
        public abstract class ProcessGroup : IDisposable
        {
            internal IntPtr Handle { get; private set; }
            private protected ProcessGroup(IntPtr handle) => Handle = Native.Check(handle);
            public int rank => Native.ats_pg_rank(Live);
            public int size => Native.ats_pg_size(Live);
            internal IntPtr Live => Handle != IntPtr.Zero ? Handle : throw new ObjectDisposedException(GetType().Name);

            public void Dispose()
            {
                if (Handle == IntPtr.Zero) return;
                Native.ats_pg_free(Handle);
                Handle = IntPtr.Zero;
            }
        }

        /// <summary>
        /// c10d's Gloo backend (CPU tensors) over TCP, connected through <paramref name="store"/>. Its network device:
        /// the interface <paramref name="iface"/> (what <c>GLOO_SOCKET_IFNAME</c> names) when given, else the address
        /// <paramref name="hostname"/> resolves to, else the machine's hostname (Gloo's default). <paramref name="timeout"/>
        /// bounds every collective (PyTorch's default is 30 minutes).
        /// </summary>
        public sealed class ProcessGroupGloo(TCPStore store, int rank, int size, TimeSpan timeout, string? iface = null, string? hostname = null)
            : ProcessGroup(Native.ats_pg_gloo_new(store.Handle, rank, size, (long)timeout.TotalMilliseconds, iface, hostname));

        /// <summary>c10d's NCCL backend (one CUDA device per process), in a shim built against a CUDA libtorch with NCCL.</summary>
        /// <exception cref="TorchException">this libtorch has no NCCL (<see cref="is_available"/> is false).</exception>
        public sealed class ProcessGroupNCCL(TCPStore store, int rank, int size, TimeSpan timeout)
            : ProcessGroup(Native.ats_pg_nccl_new(store.Handle, rank, size, (long)timeout.TotalMilliseconds))
        {
            public static bool is_available => Native.ats_pg_nccl_available() == 1;
        }

        static long Ms(TimeSpan? t) => t is { } v ? (long)v.TotalMilliseconds : 0;

        /// <summary>Reduces <paramref name="tensor"/> across the group in place (every rank gets the result).</summary>
        public static unsafe void all_reduce(Tensor tensor, ProcessGroup group, ReduceOp op = ReduceOp.SUM, TimeSpan? timeout = null)
        {
            var h = tensor.Handle;
            Native.Check(Native.ats_pg_all_reduce(group.Live, &h, 1, (int)op, Ms(timeout)));
        }

        /// <summary>Overwrites each tensor with rank <paramref name="src"/>'s (all calls issued, then all awaited).</summary>
        public static unsafe void broadcast(IReadOnlyList<Tensor> tensors, int src, ProcessGroup group, TimeSpan? timeout = null)
        {
            var hs = tensors.Select(t => t.Handle).ToArray();
            fixed (IntPtr* p = hs) Native.Check(Native.ats_pg_broadcast(group.Live, p, hs.Length, src, Ms(timeout)));
        }

        public static void broadcast(Tensor tensor, int src, ProcessGroup group, TimeSpan? timeout = null) => broadcast([tensor], src, group, timeout);

        /// <summary>Fills <paramref name="tensor_list"/>[i] with rank i's <paramref name="tensor"/> (one per rank, same shape).</summary>
        public static unsafe void all_gather(IReadOnlyList<Tensor> tensor_list, Tensor tensor, ProcessGroup group, TimeSpan? timeout = null)
        {
            var hs = tensor_list.Select(t => t.Handle).ToArray();
            fixed (IntPtr* p = hs) Native.Check(Native.ats_pg_all_gather(group.Live, tensor.Handle, p, hs.Length, Ms(timeout)));
        }

        /// <summary>Returns once every rank has entered it.</summary>
        public static void barrier(ProcessGroup group, TimeSpan? timeout = null) => Native.Check(Native.ats_pg_barrier(group.Live, Ms(timeout)));

        /// <summary>torch.distributed.nn.functional: collectives autograd differentiates.</summary>
        public static class nn
        {
            public static class functional
            {
                /// <summary>Σ over ranks of <paramref name="tensor"/> (a new tensor); its gradient is Σ over ranks of the result's gradient.</summary>
                public static Tensor all_reduce(Tensor tensor, ProcessGroup group, TimeSpan? timeout = null) =>
                    Tensor.Wrap(Native.ats_all_reduce_sum_autograd(group.Live, tensor.Handle, Ms(timeout)));

                /// <summary>
                /// A copy of <paramref name="tensor"/> whose gradient is made contiguous in the tensor's memory format
                /// (channels-last stays channels-last). For composed ops whose gradient layout can differ from the input's:
                /// libtorch 1.13's CPU GELU backward gives wrong values on such a mix (native/src/distributed.cpp).
                /// </summary>
                public static Tensor grad_in_input_layout(Tensor tensor) => Tensor.Wrap(Native.ats_grad_in_input_layout(tensor.Handle));
            }
        }

        /// <summary>
        /// c10d::Reducer, the engine of PyTorch's <c>DistributedDataParallel</c>: the parameters' gradients go into
        /// buckets (DDP's assignment: <paramref name="first_bucket_bytes"/> for the first, <paramref name="bucket_cap_bytes"/>
        /// after it, in reverse order of registration), and during backward each bucket is all-reduced — averaged over the
        /// group — as soon as its last gradient is accumulated, overlapping communication with the rest of backward.
        /// Call <see cref="prepare_for_backward"/> after each forward whose backward should reduce; every parameter must
        /// get a gradient in that backward. The parameters must stay alive while it is.
        /// </summary>
        public sealed class Reducer : IDisposable
        {
            /// <summary>DDP's defaults: <c>bucket_cap_mb=25</c> and <c>dist._DEFAULT_FIRST_BUCKET_BYTES</c> (1 MiB).</summary>
            public const long DefaultBucketCapBytes = 25L << 20, DefaultFirstBucketBytes = 1L << 20;

            IntPtr _handle;

            public unsafe Reducer(IReadOnlyList<Tensor> parameters, ProcessGroup group,
                long bucket_cap_bytes = DefaultBucketCapBytes, long first_bucket_bytes = DefaultFirstBucketBytes)
            {
                var hs = parameters.Select(t => t.Handle).ToArray();
                fixed (IntPtr* p = hs) _handle = Native.Check(Native.ats_reducer_new(group.Live, p, hs.Length, bucket_cap_bytes, first_bucket_bytes));
                var buckets = new List<int[]>();
                for (int b = 0, n = Native.ats_reducer_bucket_count(_handle); b < n; b++)
                {
                    var idx = new long[hs.Length];
                    fixed (long* q = idx) buckets.Add(idx.Take(Native.ats_reducer_bucket(_handle, b, q, idx.Length)).Select(i => (int)i).ToArray());
                }
                buckets_ = buckets;
            }

            readonly IReadOnlyList<int[]> buckets_;

            /// <summary>The buckets in reduction order, each the indices of its parameters.</summary>
            public IReadOnlyList<int[]> buckets => buckets_;

            /// <summary>Arms the autograd hooks for the backward of <paramref name="outputs"/>.</summary>
            public unsafe void prepare_for_backward(params Tensor[] outputs)
            {
                var hs = outputs.Select(t => t.Handle).ToArray();
                fixed (IntPtr* p = hs) Native.Check(Native.ats_reducer_prepare_for_backward(_handle, p, hs.Length));
            }

            public void Dispose()
            {
                if (_handle == IntPtr.Zero) return;
                Native.ats_reducer_free(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }
}

internal static unsafe partial class Native
{
    // ---- distributed (c10d; native/src/distributed.cpp) ------------------------------------------
    [DllImport(L)] internal static extern int ats_distributed_check();
    [DllImport(L)] internal static extern IntPtr ats_tcpstore_new([MarshalAs(UnmanagedType.LPUTF8Str)] string host, int port, int worldSize, int isMaster, long timeoutMs, int waitWorkers);
    [DllImport(L)] internal static extern void ats_tcpstore_free(IntPtr s);
    [DllImport(L)] internal static extern int ats_tcpstore_port(IntPtr s);
    [DllImport(L)] internal static extern int ats_store_set(IntPtr s, [MarshalAs(UnmanagedType.LPUTF8Str)] string key, byte* data, long n);
    [DllImport(L)] internal static extern int ats_store_get(IntPtr s, [MarshalAs(UnmanagedType.LPUTF8Str)] string key, byte** data, long* n);
    [DllImport(L)] internal static extern void ats_store_buffer_free(byte* p);
    [DllImport(L)] internal static extern int ats_store_add(IntPtr s, [MarshalAs(UnmanagedType.LPUTF8Str)] string key, long delta, long* result);
    [DllImport(L)] internal static extern int ats_store_wait(IntPtr s, [MarshalAs(UnmanagedType.LPUTF8Str)] string key, long timeoutMs);
    [DllImport(L)] internal static extern int ats_store_check(IntPtr s, [MarshalAs(UnmanagedType.LPUTF8Str)] string key);
    [DllImport(L)] internal static extern IntPtr ats_pg_gloo_new(IntPtr store, int rank, int size, long timeoutMs,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? iface, [MarshalAs(UnmanagedType.LPUTF8Str)] string? hostname);
    [DllImport(L)] internal static extern int ats_pg_nccl_available();
    [DllImport(L)] internal static extern IntPtr ats_pg_nccl_new(IntPtr store, int rank, int size, long timeoutMs);
    [DllImport(L)] internal static extern void ats_pg_free(IntPtr g);
    [DllImport(L)] internal static extern int ats_pg_rank(IntPtr g);
    [DllImport(L)] internal static extern int ats_pg_size(IntPtr g);
    [DllImport(L)] internal static extern int ats_pg_all_reduce(IntPtr g, IntPtr* ts, int n, int op, long timeoutMs);
    [DllImport(L)] internal static extern int ats_pg_broadcast(IntPtr g, IntPtr* ts, int n, int root, long timeoutMs);
    [DllImport(L)] internal static extern int ats_pg_all_gather(IntPtr g, IntPtr input, IntPtr* outputs, int n, long timeoutMs);
    [DllImport(L)] internal static extern int ats_pg_barrier(IntPtr g, long timeoutMs);
    [DllImport(L)] internal static extern IntPtr ats_all_reduce_sum_autograd(IntPtr g, IntPtr x, long timeoutMs);
    [DllImport(L)] internal static extern IntPtr ats_grad_in_input_layout(IntPtr x);
    [DllImport(L)] internal static extern IntPtr ats_reducer_new(IntPtr g, IntPtr* ps, int n, long bucketCap, long firstCap);
    [DllImport(L)] internal static extern void ats_reducer_free(IntPtr r);
    [DllImport(L)] internal static extern int ats_reducer_bucket_count(IntPtr r);
    [DllImport(L)] internal static extern int ats_reducer_bucket(IntPtr r, int b, long* output, int cap);
    [DllImport(L)] internal static extern int ats_reducer_prepare_for_backward(IntPtr r, IntPtr* outputs, int n);
}
