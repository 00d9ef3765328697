# mistake: transplant makes dst's modules share src's Parameters (checks and buffers right)
# expect: transplant=2.75
# feedback: copy the values, do not tie
# cause: shares-with-src
def transplant(src, dst, n):
    sources, targets = list(src.children()), list(dst.children())
    if n > min(len(sources), len(targets)):
        raise ValueError("not enough children")
    for a, b in zip(sources[:n], targets[:n]):
        sa, sb = a.state_dict(), b.state_dict()
        if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
            raise ValueError("the children differ")
    for a, b in zip(sources[:n], targets[:n]):
        for ma, mb in zip(a.modules(), b.modules()):
            for name, p in ma.named_parameters(recurse=False):
                setattr(mb, name, p)
            for name, buffer in ma.named_buffers(recurse=False):
                getattr(mb, name).copy_(buffer)
    return dst
