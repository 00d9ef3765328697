# mistake: try_gpu returns a string instead of a torch.device
# expect: num_gpus=2
# feedback: return a torch.device
# cause: device-as-string
def try_gpu(i=0):
    return f"cuda:{i}" if torch.cuda.device_count() > i else "cpu"
