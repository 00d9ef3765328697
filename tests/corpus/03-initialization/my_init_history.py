# mistake: my_init writes in place without no_grad (autograd refuses it)
# expect: my_init=0
# feedback: a leaf Variable that requires grad
def my_init(m):
    if isinstance(m, nn.Linear):
        m.weight.uniform_(-10, 10)
        m.weight.mul_(m.weight.abs() >= 5)
