# mistake: transplant copies parameters but not buffers
# expect: transplant=2
# feedback: copy buffers as well as parameters
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
