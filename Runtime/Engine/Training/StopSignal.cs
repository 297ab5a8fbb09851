using System.Runtime.InteropServices;

namespace ArchDsl.Runtime.Training;

/// <summary>SIGINT / SIGTERM and a cancellation token, as one "please stop" flag checked between steps.</summary>
internal sealed class StopSignal : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = new();
    private readonly CancellationTokenRegistration _token;
    private volatile bool _requested;
    private volatile string? _signal;

    public StopSignal(bool handleSignals, CancellationToken token)
    {
        if (handleSignals)
        {
            foreach (var sig in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            {
                try
                {
                    _registrations.Add(PosixSignalRegistration.Create(sig, ctx =>
                    {
                        if (_requested) return; // a second signal: let it do what it does by default
                        _signal = ctx.Signal.ToString();
                        _requested = true;
                        ctx.Cancel = true;
                    }));
                }
                catch (PlatformNotSupportedException) { }
            }
        }
        _token = token.Register(() => { _signal ??= "cancellation"; _requested = true; });
    }

    public bool Requested => _requested;
    public string? Signal => _signal;

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _token.Dispose();
    }
}
