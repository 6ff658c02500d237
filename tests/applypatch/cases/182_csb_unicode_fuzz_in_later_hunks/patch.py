import os, runpy, sys
sys.argv = ['gen.py', 'patch']
runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'gen.py'), run_name='__main__')
