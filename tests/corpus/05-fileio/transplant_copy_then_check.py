# mistake: transplant copies child by child and only then meets the mismatch
# (and, copying as it goes, it meets the end of the shorter list without noticing n is too large)
# expect: transplant=1.75
# cause: changed-before-raising
# feedback: check every child before copying anything
def transplant(src, dst, n):
    for a, b in list(zip(src.children(), dst.children()))[:n]:
        for key, value in a.state_dict().items():
            if b.state_dict()[key].shape != value.shape:
                raise ValueError("shapes differ")
        b.load_state_dict(a.state_dict())
    return dst
