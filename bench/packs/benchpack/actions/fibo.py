from st2common.runners.base_action import Action


def fibo(n):
    return n if n < 2 else fibo(n - 1) + fibo(n - 2)


class Fibo(Action):
    def run(self, n):
        return fibo(n)
