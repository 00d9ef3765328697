# mistake: transplant makes dst's children share src's Parameters
# expect: transplant=2
# feedback: copy the values, do not tie
def transplant(src, dst, n):
    pairs = list(zip(src.children(), dst.children()))[:n]
    for a, b in pairs:
        if any(p.shape != q.shape for p, q in zip(a.parameters(), b.parameters())):
            raise ValueError("shapes differ")
    for a, b in pairs:
        for name, p in a.named_parameters():
            setattr(b, name, p)
        for name, buffer in a.named_buffers():
            getattr(b, name).copy_(buffer)
    return dst
