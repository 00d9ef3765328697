# mistake: transplant points dst's parameters at src's data (`q.data = p.data`): distinct Parameters, one memory
# expect: transplant=2.75
# feedback: dst's tensors share memory with src's
# cause: shares-memory
def transplant(src, dst, n):
    sources, targets = list(src.children()), list(dst.children())
    if n > min(len(sources), len(targets)):
        raise ValueError("not enough children")
    for a, b in zip(sources[:n], targets[:n]):
        sa, sb = a.state_dict(), b.state_dict()
        if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
            raise ValueError("the children differ")
    for a, b in zip(sources[:n], targets[:n]):
        for p, q in zip(a.parameters(), b.parameters()):
            q.data = p.data
        for p, q in zip(a.buffers(), b.buffers()):
            q.copy_(p)
    return dst
