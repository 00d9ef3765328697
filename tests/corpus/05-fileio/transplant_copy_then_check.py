# mistake: transplant copies child by child and only then meets the mismatch
# expect: transplant=2
# feedback: check every child before copying anything
def transplant(src, dst, n):
    for a, b in list(zip(src.children(), dst.children()))[:n]:
        for key, value in a.state_dict().items():
            if b.state_dict()[key].shape != value.shape:
                raise ValueError("shapes differ")
        b.load_state_dict(a.state_dict())
    return dst
