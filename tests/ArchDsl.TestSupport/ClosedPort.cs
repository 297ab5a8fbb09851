using System.Net;
using System.Net.Sockets;

namespace ArchDsl.TestSupport;

/// <summary>
/// A loopback TCP port held bound but not listening (and without <c>SO_REUSEADDR</c>), for as long as this lives: no other
/// process can listen on it and a connection to it is refused at once — a master that is certainly not there. A port
/// that was merely free a moment ago (a listener opened and closed) can be taken meanwhile by any process on the
/// machine, another test's rendezvous for one, and then something answers there.
/// </summary>
public sealed class ClosedPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public ClosedPort()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        // .NET sets SO_REUSEADDR on every TCP bind on Linux, and a socket that has it (and is not listening) lets another
        // with it (c10d's server socket) bind the same port and listen; cleared after the bind, the port stays ours.
        if (OperatingSystem.IsLinux()) _socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    private const int SolSocket = 1, SoReuseAddr = 2; // Linux's <asm-generic/socket.h>

    public int Port { get; }

    public void Dispose() => _socket.Dispose();
}
