# mistake: none: the book's own versions
# expect: full
def num_gpus():
    return torch.cuda.device_count()


def try_gpu(i=0):
    if num_gpus() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus():
    return [torch.device(f"cuda:{i}") for i in range(num_gpus())] or [torch.device("cpu")]
