# mistake: none: indexing the Sequentials (IndexError when n is too large), copy_ under no_grad after checking all
# expect: full
def transplant(src, dst, n):
    pairs = [(src[i], dst[i]) for i in range(n)]
    for a, b in pairs:
        sa, sb = a.state_dict(), b.state_dict()
        if set(sa) != set(sb) or any(sa[k].shape != sb[k].shape for k in sa):
            raise ValueError(f"cannot copy {a} into {b}")
    with torch.no_grad():
        for a, b in pairs:
            target = b.state_dict()
            for key, value in a.state_dict().items():
                target[key].copy_(value)
    return dst
