# mistake: try_gpu returns a GPU without checking that it exists
# expect: num_gpus=2
# feedback: check that the GPU exists
# cause: unchecked-gpu
def try_gpu(i=0):
    return torch.device(f"cuda:{i}")


def try_all_gpus():
    return [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())] or [torch.device("cuda")]
