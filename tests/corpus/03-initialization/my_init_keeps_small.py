# mistake: my_init keeps the values below 5 instead of those above
# expect: my_init=3
# feedback: lie in (-5, 5) without being 0
def my_init(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            nn.init.uniform_(m.weight, -10, 10)
            m.weight *= m.weight.abs() < 5
