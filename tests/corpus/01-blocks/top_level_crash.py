# mistake: a leftover test at the top level raises; the rest still counts
# expect: full
# status: import error
# feedback: running this top-level statement raised RuntimeError
print(MLP()(torch.rand(2, 21)))
