namespace ArchDsl.Torch;

/// <summary>
/// Owns every tensor created on this thread while it is the innermost open scope, and frees them
/// when disposed — except those moved out on purpose (<see cref="torch.Tensor.MoveToOuterDisposeScope"/>,
/// <see cref="torch.Tensor.DetachFromDisposeScope"/>). Parameters, buffers registered with a module and
/// optimizer state are never scope-owned. Scopes nest; disposing an outer scope disposes any still-open
/// inner ones first. This, not the GC, is what keeps native memory bounded in a training loop.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] static DisposeScope? _current;

    readonly List<torch.Tensor> _owned = new();
    readonly int _threadId = Environment.CurrentManagedThreadId;
    bool _disposed;

    internal DisposeScope? Outer { get; }

    internal DisposeScope()
    {
        Outer = _current;
        _current = this;
    }

    /// <summary>The innermost open scope on this thread, or null.</summary>
    public static DisposeScope? Current => _current;

    public bool IsDisposed => _disposed;

    /// <summary>How many tensors this scope still owns (not disposed, not moved out).</summary>
    public int OwnedCount => _owned.Count(t => t.OwningScope == this && !t.IsDisposed);

    internal void Register(torch.Tensor t)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(DisposeScope));
        t.OwningScope = this;
        _owned.Add(t);
    }

    /// <summary>Moves <paramref name="t"/> to the enclosing scope (or out of all scopes) and returns it.</summary>
    public T MoveToOuter<T>(T t) where T : torch.Tensor
    {
        if (t.OwningScope != this) throw new InvalidOperationException("the tensor is not owned by this scope");
        t.OwningScope = null;
        Outer?.Register(t);
        return t;
    }

    /// <summary>Takes <paramref name="t"/> out of this scope: nobody owns it but the caller.</summary>
    public T Detach<T>(T t) where T : torch.Tensor
    {
        if (t.OwningScope == this) t.OwningScope = null;
        return t;
    }

    /// <summary>Brings a tensor created outside any scope (or in another) under this scope's ownership.</summary>
    public T Include<T>(T t) where T : torch.Tensor
    {
        Register(t);
        return t;
    }

    public void Dispose()
    {
        if (_disposed) return;
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException("a DisposeScope must be disposed on the thread that opened it");
        // Close inner scopes that were left open, innermost first.
        while (_current != null && _current != this && IsOuterOf(_current)) _current.Dispose();
        _disposed = true;
        foreach (var t in _owned)
            if (t.OwningScope == this)
            {
                t.OwningScope = null;
                t.Dispose();
            }
        _owned.Clear();
        if (_current == this) _current = Outer;
    }

    bool IsOuterOf(DisposeScope s)
    {
        for (var p = s.Outer; p != null; p = p.Outer)
            if (p == this) return true;
        return false;
    }
}
