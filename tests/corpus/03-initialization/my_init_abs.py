# mistake: my_init keeps magnitudes only: no weight is negative
# expect: my_init=2
# feedback: % of the weights are positive, expected 25%
def my_init(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            nn.init.uniform_(m.weight, -10, 10)
            m.weight.copy_(m.weight.abs() * (m.weight.abs() >= 5))
