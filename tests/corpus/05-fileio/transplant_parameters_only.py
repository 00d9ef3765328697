# mistake: transplant copies parameters but not buffers
# (its check compares parameters only, and zip stops at the shorter list: other mismatches and n too large pass unseen)
# expect: transplant=1.5
# feedback: copy buffers as well
# cause: buffers-not-copied
def transplant(src, dst, n):
    pairs = list(zip(src.children(), dst.children()))[:n]
    for a, b in pairs:
        for p, q in zip(a.parameters(), b.parameters()):
            if p.shape != q.shape:
                raise ValueError("shapes differ")
    with torch.no_grad():
        for a, b in pairs:
            for p, q in zip(a.parameters(), b.parameters()):
                q.copy_(p)
    return dst
