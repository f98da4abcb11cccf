def main(event):
    x = = 1  # want: syntax-error
