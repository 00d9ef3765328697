# mistake: os._exit in Parallel.forward ends the process; only those checks fail
# expect: Parallel=1
# status: crashed
# feedback: stopped the process
import os


class Parallel(nn.Module):
    def __init__(self, net1, net2, dim=-1):
        super().__init__()
        self.net1 = net1
        self.net2 = net2
        self.dim = dim

    def forward(self, X):
        os._exit(0)
